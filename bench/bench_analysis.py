"""Time the dataset analysis of a large CSV (100,000 rows by default) against a bare pandas read.

Writes a seeded synthetic CSV (English and French texts of 5 to 60 words, 4 classes), then
prints the time of each analysis stage and rows/s for:

- ``bare read``: ``pandas.read_csv`` of the file alone (the baseline);
- ``cold``: a fresh process importing the engine and analysing once (what ``llmtool-tui analyze``
  costs, imports included);
- ``warm``: a second analysis in a process that already ran one (what the app pays).

    .venv/bin/python bench/bench_analysis.py [--rows N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = [
    "the",
    "movie",
    "service",
    "product",
    "was",
    "really",
    "quite",
    "very",
    "not",
    "good",
    "bad",
    "great",
    "awful",
    "slow",
    "fast",
    "delivery",
    "staff",
    "price",
    "quality",
    "would",
    "recommend",
    "again",
    "never",
    "buy",
    "this",
    "app",
    "crashes",
    "works",
    "fine",
    "and",
    "but",
    "with",
    "for",
    "of",
    "my",
    "our",
    "team",
    "customer",
    "support",
    "experience",
]
FRENCH = [
    "le",
    "la",
    "film",
    "service",
    "produit",
    "était",
    "vraiment",
    "très",
    "pas",
    "bon",
    "mauvais",
    "génial",
    "lent",
    "rapide",
    "livraison",
    "personnel",
    "prix",
    "qualité",
    "je",
    "recommande",
    "encore",
    "jamais",
    "acheter",
    "cette",
    "application",
    "plante",
    "marche",
    "bien",
    "et",
    "mais",
    "avec",
    "pour",
    "de",
    "notre",
    "équipe",
    "client",
]
LABELS = ("positive", "negative", "neutral", "mixed")
COLD_SCRIPT = """
import json, sys, time
started = time.perf_counter()
from engine.analysis import analyze_dataset
imported = time.perf_counter()
analysis = analyze_dataset(sys.argv[1])
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "analysis_s": done - imported,
                  "rows": analysis.dataset_config.rows_read}))
"""


def write_dataset(path: Path, rows: int) -> None:
    generator = random.Random(0)
    texts = []
    for _ in range(rows):
        words = FRENCH if generator.random() < 0.3 else ENGLISH
        texts.append(" ".join(generator.choices(words, k=generator.randint(5, 60))))
    frame = pd.DataFrame(
        {
            "id": range(rows),
            "text": texts,
            "label": [generator.choice(LABELS) for _ in range(rows)],
        }
    )
    frame.to_csv(path, index=False)


def warm_run(path: Path) -> tuple[float, list[tuple[str, float]], int]:
    from engine.analysis import analyze_dataset

    stages: list[tuple[str, float]] = []
    last = [time.perf_counter()]

    def progress(stage: str, fraction: float) -> None:
        now = time.perf_counter()
        if stages:
            stages[-1] = (stages[-1][0], now - last[0])
        stages.append((stage, 0.0))
        last[0] = now

    started = time.perf_counter()
    analysis = analyze_dataset(path, progress=progress)
    return time.perf_counter() - started, stages[:-1], analysis.dataset_config.rows_read or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the CSV in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench_{args.rows}.csv"
        write_dataset(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"{path.name}: {args.rows:,} rows, {size_mb:.1f} MB")

        started = time.perf_counter()
        pd.read_csv(path)
        bare = time.perf_counter() - started
        print(f"bare read     {bare:6.2f} s  {args.rows / bare:10,.0f} rows/s  (baseline)")

        cold_started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT, str(path)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        cold_total = time.perf_counter() - cold_started
        cold = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"cold process  {cold_total:6.2f} s  {args.rows / cold_total:10,.0f} rows/s  "
            f"x{cold_total / bare:5.1f} the bare read  (imports {cold['import_s']:.2f} s, "
            f"analysis {cold['analysis_s']:.2f} s)"
        )

        warm_run(path)  # warm-up: imports, language model, scikit-learn
        warm, stages, rows = warm_run(path)
        assert rows == args.rows
        print(
            f"warm analysis {warm:6.2f} s  {args.rows / warm:10,.0f} rows/s  "
            f"x{warm / bare:5.1f} the bare read"
        )
        for stage, seconds in stages:
            print(f"    {stage:38} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
