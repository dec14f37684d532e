"""Deterministic generator of the bundled sample dataset, ``engine/data/sample_dataset.csv``.

The sample lets ``train --demo`` run on a fresh machine with no download. It holds French and
English news-like sentences about four topics, with a learnable signal (topic words) blurred by
shared filler words, words borrowed from other topics and a little label noise, so that a model
has something to learn and the metrics are not trivially perfect. French texts keep their accents
(``élection``, ``santé``), which a tokenizer must not strip.

Columns: ``text``, ``label`` (one topic), ``language`` (``FR``/``EN``) and ``topics`` (the topic,
sometimes with a second one, ``;``-separated) for multi-label and distributed training.

Regenerate with ``python -m engine.sessions.sample_data`` (the output is byte-for-byte the same
for the same seed; a test checks the committed file against the generator).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from pathlib import Path

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "sample_dataset.csv"
DEFAULT_ROWS = 1200
DEFAULT_SEED = 20240917
TEXT_COLUMN = "text"
LABEL_COLUMN = "label"
LANGUAGE_COLUMN = "language"
TOPICS_COLUMN = "topics"
TOPIC_DELIMITER = ";"

#: Topic words per label and language: the signal a classifier learns.
TOPIC_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "sports": {
        "EN": (
            "match",
            "team",
            "goal",
            "coach",
            "season",
            "championship",
            "player",
            "stadium",
            "tournament",
            "victory",
            "referee",
            "league",
        ),
        "FR": (
            "match",
            "équipe",
            "but",
            "entraîneur",
            "saison",
            "championnat",
            "joueur",
            "stade",
            "tournoi",
            "victoire",
            "arbitre",
            "ligue",
        ),
    },
    "politics": {
        "EN": (
            "election",
            "parliament",
            "minister",
            "vote",
            "government",
            "campaign",
            "senate",
            "law",
            "reform",
            "party",
            "debate",
            "president",
        ),
        "FR": (
            "élection",
            "parlement",
            "ministre",
            "scrutin",
            "gouvernement",
            "campagne",
            "sénat",
            "loi",
            "réforme",
            "parti",
            "débat",
            "président",
        ),
    },
    "technology": {
        "EN": (
            "software",
            "computer",
            "internet",
            "smartphone",
            "algorithm",
            "data",
            "startup",
            "robot",
            "network",
            "chip",
            "application",
            "cloud",
        ),
        "FR": (
            "logiciel",
            "ordinateur",
            "internet",
            "smartphone",
            "algorithme",
            "données",
            "start-up",
            "robot",
            "réseau",
            "puce",
            "application",
            "numérique",
        ),
    },
    "health": {
        "EN": (
            "hospital",
            "doctor",
            "vaccine",
            "patient",
            "disease",
            "treatment",
            "nurse",
            "symptoms",
            "medicine",
            "epidemic",
            "surgery",
            "diet",
        ),
        "FR": (
            "hôpital",
            "médecin",
            "vaccin",
            "patient",
            "maladie",
            "traitement",
            "infirmière",
            "symptômes",
            "médicament",
            "épidémie",
            "chirurgie",
            "santé",
        ),
    },
}

#: Sentence frames with three topic-word slots; the rest is filler shared by every topic.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "EN": (
        "{when}, everyone was talking about the {a}, the {b} and the {c}.",
        "The report on the {a} mentions the {b} and the {c} {where}.",
        "Reporters asked about the {a} {where}, then about the {b} and the {c}.",
        "{when}, a new {a} surprised people who follow the {b} and the {c}.",
        "Nobody expected the {a} and the {b} to matter so much for the {c}.",
        "A long article explains why the {a} changes the {b}, and what it means for the {c}.",
        "People {where} argued about the {a} and the {b}; the {c} came up too.",
        "The {a} was the main topic {when}, ahead of the {b} and the {c}.",
    ),
    "FR": (
        "{when}, tout le monde parlait de {a}, de {b} et de {c}.",
        "Le rapport sur {a} évoque aussi {b} et {c} {where}.",
        "Les journalistes ont posé des questions sur {a} {where}, puis sur {b} et {c}.",
        "{when}, une nouvelle sur {a} a surpris ceux qui suivent {b} et {c}.",
        "Personne ne pensait que {a} et {b} compteraient autant pour {c}.",
        "Un long article explique pourquoi {a} change {b}, et ce que cela veut dire pour {c}.",
        "À la radio, on a débattu de {a} et de {b} {where} ; {c} est aussi revenu.",
        "Le sujet principal était {a} {when}, devant {b} et {c}.",
    ),
}
WHEN: dict[str, tuple[str, ...]] = {
    "EN": ("Yesterday", "This morning", "Last week", "On Monday", "Tonight", "Earlier today"),
    "FR": ("Hier", "Ce matin", "La semaine dernière", "Lundi", "Ce soir", "Plus tôt aujourd'hui"),
}
WHERE: dict[str, tuple[str, ...]] = {
    "EN": (
        "in the city",
        "on television",
        "in the newspaper",
        "at the meeting",
        "online",
        "in the region",
    ),
    "FR": (
        "en ville",
        "à la télévision",
        "dans le journal",
        "à la réunion",
        "en ligne",
        "dans la région",
    ),
}

#: Chance that one topic slot is filled with another topic's word (blurs the signal).
BORROW_RATE = 0.25
#: Chance that the label is replaced by a random other topic (label noise).
LABEL_NOISE = 0.04
#: Chance that a row gets a second topic in ``topics``, with that topic's word in the text.
SECOND_TOPIC_RATE = 0.3
FRENCH_SHARE = 0.55


def _sentence(rng: random.Random, language: str, topic: str, other: str | None) -> str:
    words = TOPIC_WORDS[topic][language]
    # Two words of the topic and a third one that may come from elsewhere: the topic is the
    # majority, so the label is learnable, but single words are not enough to decide.
    chosen = [rng.choice(words), rng.choice(words)]
    if other is not None:
        chosen.append(rng.choice(TOPIC_WORDS[other][language]))
    elif rng.random() < BORROW_RATE:
        borrowed = rng.choice([name for name in TOPIC_WORDS if name != topic])
        chosen.append(rng.choice(TOPIC_WORDS[borrowed][language]))
    else:
        chosen.append(rng.choice(words))
    rng.shuffle(chosen)
    template = rng.choice(TEMPLATES[language])
    text = template.format(
        a=chosen[0],
        b=chosen[1],
        c=chosen[2],
        when=rng.choice(WHEN[language]),
        where=rng.choice(WHERE[language]),
    )
    return text[0].upper() + text[1:]


def generate_rows(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """The sample's rows, the same for the same ``rows`` and ``seed``."""
    rng = random.Random(seed)
    topics = list(TOPIC_WORDS)
    generated = []
    for index in range(rows):
        language = "FR" if rng.random() < FRENCH_SHARE else "EN"
        # Round-robin topics keep the classes balanced whatever the row count.
        topic = topics[index % len(topics)]
        other = (
            rng.choice([name for name in topics if name != topic])
            if rng.random() < SECOND_TOPIC_RATE
            else None
        )
        text = _sentence(rng, language, topic, other)
        label = topic
        if rng.random() < LABEL_NOISE:
            label = rng.choice([name for name in topics if name != topic])
        row_topics = [label] if other is None or other == label else [label, other]
        generated.append(
            {
                TEXT_COLUMN: text,
                LABEL_COLUMN: label,
                LANGUAGE_COLUMN: language,
                TOPICS_COLUMN: TOPIC_DELIMITER.join(row_topics),
            }
        )
    return generated


def render_csv(rows: list[dict[str, str]]) -> bytes:
    """The CSV bytes of ``rows`` (UTF-8, ``\\n`` line ends, header first)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=[TEXT_COLUMN, LABEL_COLUMN, LANGUAGE_COLUMN, TOPICS_COLUMN],
        lineterminator="\n",
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_sample(
    path: Path = SAMPLE_PATH, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED
) -> Path:
    """Write the sample CSV to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_csv(generate_rows(rows, seed)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the bundled sample dataset.")
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    options = parser.parse_args()
    print(write_sample(options.out, options.rows, options.seed))


if __name__ == "__main__":
    main()
