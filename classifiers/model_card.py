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


def render_markdown(card: dict) -> str:
    data = card["data"]
    lines = [f"# {'Quality' if card['task'] == 'binary' else 'Topic'} classifier", ""]
    lines += [f"Task: {card['task']}; labels: {', '.join(card['classes'])}"
              + (f"; score = P({card['positive_label']})" if card["positive_label"] else ""), ""]
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
        lines += ["Held-out metrics:", "", "| metric | value |", "|---|---|", *_metric_rows(model["held_out"]), ""]
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
