"""Paper 000 (Local codes in neural networks): the experiments of the chapters of experiments 1–13 and the
findings page.

* ``reported`` — what the paper reports (claims, Tables 1, 2, 3–7, 9, 10, 11, the Fig. 7a fits, the findings);
* ``statistics`` — the tests and fits the chapters use;
* ``sweeps`` — the standard-code sweeps shared between chapters, and the settings of the other sweeps;
* ``digits`` — experiment 12's digits with hot-pixel invariants, Tables 9 and 10;
* ``training_time`` — experiment 10's curves, turning points and Table 11;
* ``networks`` — a sweep's networks trained again, for jitterplots;
* ``checks`` — a chapter's stored results and its checks of the paper's claims;
* ``training_checks`` — the checks of the chapters of experiments 8–11 and 13;
* ``findings`` — verdicts on the seven findings from the claims the chapters stored.
"""

from .checks import (
    CHECK_COLUMNS,
    NO_PAPER_RESULTS,
    check,
    load_chapter,
    paper_scale_results,
    save_chapter,
    save_frames,
    verdict_lines,
    verdict_table,
)
from .digits import (
    digit_checks,
    digit_conditions,
    digits_data,
    example_images,
    reached_share,
    stored_means,
    table9,
    table9_wide,
    table10,
    train_digits,
)
from .findings import (
    ALPHA,
    CHAPTER_FINDINGS,
    CHECKS_CHAPTERS,
    EVIDENCE_COLUMNS,
    NOT_RUN,
    RULE,
    abstract,
    evidence,
    evidence_html,
    finding_outcome,
    findings_summary,
    findings_table,
    findings_tables,
    has_paper_results,
    outcome_counts,
    stored_chapters,
)
from .networks import (
    cached_npz,
    digit_example,
    example_networks,
    jitter_units,
    network_jitter,
    network_views,
    plot_activations,
    retrain,
)
from .reported import (
    CLAIMS,
    DROPOUT_LEVELS,
    FIG7A_FITS,
    FINDINGS,
    KS_PAPER,
    TABLE1,
    TABLE1_CONTRASTS,
    TABLE2,
    TABLE2_MEAN_NO_DROPOUT,
    TABLE9,
    TABLE10,
    TABLE11,
    table9_long,
)
from .statistics import (
    compare_groups,
    contrast_table,
    density_curves,
    first_reach,
    fits_by,
    ks_table,
    linear_fit,
    mean_sem,
    paired,
    peak_width,
    require_columns,
    sqrt_fit,
    summary_stats,
    turning_point,
    welch,
)
from .sweeps import (
    MEASURES,
    SHARED_STORE,
    STANDARD,
    STOP_RULES,
    TRAININGS,
    code_sweep,
    final_rows,
    paper_results,
    read_result,
    set_cpu_threads,
    shared_store,
    split_params,
    stored_final,
    stored_summary,
    summarise,
    table1_settings,
    training,
)
from .training_checks import (
    condition_checks,
    dropout_checks,
    memorisation_checks,
    noise_checks,
    not_run,
    training_time_checks,
)
from .training_time import (
    accuracy_fits,
    mark_read,
    rising_share,
    table11,
    training_curves,
    training_means,
    turning_agreement,
    turning_medians,
    turning_table,
)

__all__ = [
    "CHECK_COLUMNS", "NO_PAPER_RESULTS", "load_chapter", "paper_scale_results", "save_chapter", "save_frames",
    "check", "verdict_lines", "verdict_table", "digit_checks", "digit_conditions", "digits_data", "example_images",
    "reached_share", "stored_means", "table9", "table9_wide", "table10", "train_digits", "ALPHA", "CHAPTER_FINDINGS",
    "CHECKS_CHAPTERS", "EVIDENCE_COLUMNS", "NOT_RUN", "RULE", "abstract", "evidence", "evidence_html",
    "finding_outcome", "findings_summary", "findings_table", "findings_tables", "has_paper_results",
    "outcome_counts", "stored_chapters", "condition_checks", "dropout_checks", "memorisation_checks",
    "noise_checks", "not_run", "training_time_checks", "cached_npz", "digit_example", "example_networks",
    "jitter_units", "network_jitter",
    "network_views", "plot_activations", "retrain", "CLAIMS", "DROPOUT_LEVELS", "FIG7A_FITS", "FINDINGS", "KS_PAPER",
    "TABLE1", "TABLE1_CONTRASTS", "TABLE2", "TABLE2_MEAN_NO_DROPOUT", "TABLE9", "TABLE10", "TABLE11", "table9_long",
    "compare_groups", "contrast_table", "density_curves", "first_reach", "fits_by", "ks_table", "linear_fit",
    "mean_sem", "paired", "peak_width", "require_columns", "sqrt_fit", "summary_stats", "turning_point", "welch",
    "MEASURES", "SHARED_STORE", "STANDARD", "STOP_RULES", "TRAININGS", "code_sweep", "final_rows", "paper_results",
    "read_result", "set_cpu_threads", "shared_store", "split_params", "stored_final", "stored_summary", "summarise",
    "table1_settings", "training", "accuracy_fits", "mark_read", "rising_share", "table11", "training_curves",
    "training_means", "turning_agreement", "turning_medians", "turning_table",
]
