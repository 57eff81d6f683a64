"""The model card saved beside a trained model: ``model_card.json`` (machine-readable) and ``MODEL_CARD.md``."""
from __future__ import annotations

import json
import os

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"


def read_model_card(model_dir: str) -> dict:
    with open(os.path.join(model_dir, CARD_JSON)) as f:
        return json.load(f)


def write_model_card(model_dir: str, card: dict) -> None:
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, CARD_JSON), "w") as f:
        json.dump(card, f, indent=2)
    with open(os.path.join(model_dir, CARD_MD), "w") as f:
        f.write(render_markdown(card))


def _metric_rows(metrics: dict) -> list[str]:
    keys = [k for k in ("n", "n_positive", "roc_auc", "precision", "recall", "f1", "accuracy", "macro_f1",
                        "roc_auc_ovr_macro") if k in metrics]
    return [f"| {k} | {metrics[k]} |" for k in keys]


HUMAN_PARTS = (("test", "test split (never trained or tuned on)"),
               ("dev_cross_validated", "dev split, cross-validated"),
               ("dev_in_sample", "dev split, in sample (head fitted on it)"),
               ("all", "all (dev included)"))


def _ci(metrics: dict) -> str:
    lo_hi = metrics.get("roc_auc_ci95")
    return f"[{lo_hi[0]}, {lo_hi[1]}]" if lo_hi else ""


def _human_rows(human: dict) -> list[str]:
    rows = ["| documents | n | ROC-AUC | 95% CI | precision | recall | F1 |", "|---|---|---|---|---|---|---|"]
    for key, title in HUMAN_PARTS:
        m = human.get(key)
        if m:
            rows.append(f"| {title} | {m['n']} | {m['roc_auc']} | {_ci(m)} | {m['precision']} | {m['recall']} | "
                        f"{m['f1']} |")
    return rows


def _headline(card: dict) -> list[str]:
    """One line per model: in-distribution ROC-AUC next to the human-label one (test split)."""
    lines = []
    for name, model in card["models"].items():
        human = model.get("human_labels", {}).get("test")
        if human:
            lines.append(f"- {name}: human-label ROC-AUC {human['roc_auc']} {_ci(human)} on the test split "
                         f"({human['n']} documents); in-distribution ROC-AUC {model['held_out']['roc_auc']}")
    return lines + [""] if lines else []


def render_markdown(card: dict) -> str:
    data = card["data"]
    lines = [f"# {'Quality' if card['task'] == 'binary' else 'Topic'} classifier", ""]
    lines += [f"Task: {card['task']}; labels: {', '.join(card['classes'])}"
              + (f"; score = P({card['positive_label']})" if card["positive_label"] else ""), ""]
    if card.get("preset"):
        lines += [f"Preset `{card['preset']}`; default backend `{card.get('default_backend')}`. Recipe:", ""]
        lines += [f"- {step}" for step in card.get("recipe", [])] + [""]
    lines += _headline(card)
    split = data.get("human_split")
    if split:
        lines += [f"Human labels `{split['path']}`: dev {split['dev']}, test {split['test']} documents "
                  f"({split['rule']}; dev_fraction {split['dev_fraction']}, salt `{split['salt']}`).", ""]
    lines += ["## Data", "", "| label | path | documents | sampled | used |", "|---|---|---|---|---|"]
    lines += [f"| {s['label']} | {s['path']} | {s['documents']} | {s['sampled']} | {s['used']} |"
              for s in data["sources"]]
    lines += ["", f"Sample cap per source: {data['max_docs_per_source']}; balanced: {data['balance']}; "
                  f"held out: {data['test_fraction']:.0%} per label (seed {data['seed']}); "
                  f"train {data['train']}, held out {data['held_out']}.", ""]
    lines += ["## Text preparation (same at training and scoring)", "", f"`{json.dumps(card['prep'])}`", ""]
    for name, model in card["models"].items():
        lines += [f"## {name}", "", f"Parameters: `{json.dumps(model['params'])}`; "
                  f"training CPU time {model['train_cpu_seconds']} s; files: {', '.join(model['files'])}.", ""]
        if "threshold" in model:
            lines += [f"Threshold: score >= {model['threshold']}; head fitted on {model.get('head_fitted_on')}.", ""]
        lines += ["Held-out metrics (in distribution):", "", "| metric | value |", "|---|---|",
                  *_metric_rows(model["held_out"]), ""]
        if model.get("human_labels"):
            lines += [f"Human labels (`{model['human_labels']['path']}`):", "", *_human_rows(model["human_labels"]), ""]
        histogram = model["held_out"].get("score_histogram")
        if histogram:
            lines += ["Score histogram (bins " + ", ".join(map(str, histogram["bin_edges"])) + "):", "",
                      f"- positive: {histogram['positive']}", f"- negative: {histogram['negative']}", ""]
        per_class = model["held_out"].get("per_class")
        if per_class:
            lines += ["| class | precision | recall | f1 | support |", "|---|---|---|---|---|"]
            lines += [f"| {c} | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |"
                      for c, m in per_class.items()]
            lines += [""]
        for ood_name, metrics in model.get("out_of_distribution", {}).items():
            lines += [f"Out of distribution, {ood_name} (`{metrics['path']}`):", "", "| metric | value |", "|---|---|",
                      *_metric_rows(metrics), ""]
    return "\n".join(lines)
