"""Compare language detection libraries on short French, English, German and Spanish texts.

Prints, per detector: accuracy (overall, per language, and on texts of at most four words), and
speed (texts/s). py3langid is the project's dependency (row ``engine.analysis`` is the
analysis's own detect_languages, which abstains on texts without evidence: abstentions count as
wrong); lingua-language-detector and langdetect are compared when installed.

    .venv/bin/python bench/bench_language_detection.py [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

FRENCH = [
    "Bonjour tout le monde",
    "Merci beaucoup",
    "Je ne sais pas",
    "Le film était vraiment nul",
    "Quelle belle journée aujourd'hui",
    "Il pleut encore à Paris",
    "Nous avons adoré ce restaurant",
    "Le service client est lamentable",
    "Je recommande ce produit à tous mes amis",
    "La livraison a pris trois semaines",
    "Les élections municipales auront lieu en mars",
    "Le gouvernement annonce une nouvelle réforme des retraites",
    "C'est trop cher pour ce que c'est",
    "À demain !",
    "On se voit ce soir au cinéma ?",
    "Le match de football a été annulé",
    "J'ai perdu mes clés",
    "Très bon rapport qualité-prix",
    "Le député a voté contre le projet de loi",
    "Cette application plante tout le temps",
    "Les enfants jouent dans le jardin",
    "Il faut sauver la planète",
    "Pas mal du tout",
    "Je suis très déçu",
    "La réunion est reportée à jeudi",
    "Un chef-d'œuvre du cinéma français",
    "Le musée est fermé le mardi",
    "Elle travaille à l'hôpital depuis dix ans",
    "Vive les vacances",
    "Ce livre m'a beaucoup ému",
]
ENGLISH = [
    "Hello everyone",
    "Thank you so much",
    "I don't know",
    "The movie was really bad",
    "What a beautiful day",
    "It is raining again in London",
    "We loved this restaurant",
    "Customer service is terrible",
    "I recommend this product to all my friends",
    "Delivery took three weeks",
    "Local elections will be held in March",
    "The government announced a new pension reform",
    "Too expensive for what it is",
    "See you tomorrow!",
    "Are we meeting at the cinema tonight?",
    "The football match was cancelled",
    "I lost my keys",
    "Great value for money",
    "The senator voted against the bill",
    "This app keeps crashing",
    "The children are playing in the garden",
    "We must save the planet",
    "Not bad at all",
    "I am very disappointed",
    "The meeting has been moved to Thursday",
    "A masterpiece of modern cinema",
    "The museum is closed on Tuesdays",
    "She has worked at the hospital for ten years",
    "Long live the holidays",
    "This book moved me deeply",
]
GERMAN = [
    "Hallo zusammen",
    "Vielen Dank",
    "Ich weiß es nicht",
    "Der Film war wirklich schlecht",
    "Was für ein schöner Tag",
    "Es regnet schon wieder in Berlin",
    "Wir haben dieses Restaurant geliebt",
    "Der Kundenservice ist furchtbar",
    "Ich empfehle dieses Produkt allen meinen Freunden",
    "Die Lieferung hat drei Wochen gedauert",
    "Die Kommunalwahlen finden im März statt",
    "Die Regierung kündigt eine neue Rentenreform an",
    "Zu teuer für das, was es ist",
    "Bis morgen!",
    "Treffen wir uns heute Abend im Kino?",
    "Das Fußballspiel wurde abgesagt",
    "Ich habe meine Schlüssel verloren",
    "Sehr gutes Preis-Leistungs-Verhältnis",
    "Der Abgeordnete stimmte gegen das Gesetz",
    "Diese App stürzt ständig ab",
    "Die Kinder spielen im Garten",
    "Wir müssen den Planeten retten",
    "Gar nicht schlecht",
    "Ich bin sehr enttäuscht",
    "Die Besprechung wurde auf Donnerstag verschoben",
    "Ein Meisterwerk des deutschen Films",
    "Das Museum ist dienstags geschlossen",
    "Sie arbeitet seit zehn Jahren im Krankenhaus",
    "Es leben die Ferien",
    "Dieses Buch hat mich sehr berührt",
]
SPANISH = [
    "Hola a todos",
    "Muchas gracias",
    "No lo sé",
    "La película fue muy mala",
    "Qué día tan bonito",
    "Está lloviendo otra vez en Madrid",
    "Nos encantó este restaurante",
    "El servicio al cliente es terrible",
    "Recomiendo este producto a todos mis amigos",
    "La entrega tardó tres semanas",
    "Las elecciones municipales serán en marzo",
    "El gobierno anuncia una nueva reforma de las pensiones",
    "Demasiado caro para lo que es",
    "¡Hasta mañana!",
    "¿Nos vemos esta noche en el cine?",
    "El partido de fútbol fue cancelado",
    "Perdí mis llaves",
    "Muy buena relación calidad-precio",
    "El diputado votó en contra del proyecto de ley",
    "Esta aplicación se cuelga todo el tiempo",
    "Los niños juegan en el jardín",
    "Hay que salvar el planeta",
    "Nada mal",
    "Estoy muy decepcionado",
    "La reunión se aplazó al jueves",
    "Una obra maestra del cine español",
    "El museo cierra los martes",
    "Ella trabaja en el hospital desde hace diez años",
    "Vivan las vacaciones",
    "Este libro me emocionó mucho",
]
CORPUS = [
    (text, code)
    for code, texts in (("FR", FRENCH), ("EN", ENGLISH), ("DE", GERMAN), ("ES", SPANISH))
    for text in texts
]

#: The restricted lingua variant: 25 widely used languages instead of all 75.
COMMON_LANGUAGES = (
    "EN",
    "FR",
    "DE",
    "ES",
    "IT",
    "PT",
    "NL",
    "PL",
    "RU",
    "UK",
    "AR",
    "ZH",
    "JA",
    "KO",
    "TR",
    "SV",
    "DA",
    "NB",
    "FI",
    "EL",
    "CS",
    "RO",
    "HU",
    "HE",
    "HI",
)

Detector = Callable[[list[str]], list[str | None]]
SHARED_ENGLISH = Path(__file__).resolve().parents[2] / "shared/datasets/uci-sentiment-sentences"


def lingua_detector(*, low_accuracy: bool, restricted: bool) -> Detector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    common = [getattr(IsoCode639_1, code) for code in COMMON_LANGUAGES]
    builder = (
        LanguageDetectorBuilder.from_iso_codes_639_1(*common)
        if restricted
        else LanguageDetectorBuilder.from_all_languages()
    )
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def detect(texts: list[str]) -> list[str | None]:
        found = detector.detect_languages_in_parallel_of(texts)
        return [None if language is None else language.iso_code_639_1.name for language in found]

    return detect


def py3langid_detector() -> Detector:
    import py3langid

    def detect(texts: list[str]) -> list[str | None]:
        return [py3langid.classify(text)[0].upper() for text in texts]

    return detect


def langdetect_detector() -> Detector:
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0  # langdetect is random unless seeded

    def detect_all(texts: list[str]) -> list[str | None]:
        results: list[str | None] = []
        for text in texts:
            try:
                results.append(detect(text).split("-")[0].upper())
            except LangDetectException:
                results.append(None)
        return results

    return detect_all


def real_english_texts(folder: Path) -> list[str]:
    """UCI sentiment sentences (English reviews), when the shared datasets are present."""
    texts: list[str] = []
    for path in sorted(folder.glob("*_labelled.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        texts += [line.rsplit("\t", 1)[0] for line in lines if "\t" in line]
    return texts


def measure(name: str, build: Callable[[], Detector], repeat: int, english: list[str]) -> None:
    started = time.perf_counter()
    detect = build()
    texts = [text for text, _ in CORPUS]
    found = detect(texts)
    # Cold start: building the detector and the first call (lazy model loading) in a fresh process.
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(repeat):
        found = detect(texts)
    elapsed = time.perf_counter() - started
    rate = len(texts) * repeat / elapsed
    right = [guess == code for guess, (_, code) in zip(found, CORPUS, strict=True)]
    short = [ok for ok, (text, _) in zip(right, CORPUS, strict=True) if len(text.split()) <= 4]
    per_language = {
        code: sum(ok for ok, (_, c) in zip(right, CORPUS, strict=True) if c == code)
        for code in ("FR", "EN", "DE", "ES")
    }
    per_text = " ".join(f"{code} {count}/30" for code, count in per_language.items())
    real = ""
    if english:
        started = time.perf_counter()
        guesses = detect(english)
        real_rate = len(english) / (time.perf_counter() - started)
        share = sum(guess == "EN" for guess in guesses) / len(english)
        real = f" | UCI EN {share:6.1%} of {len(english)} at {real_rate:6.0f}/s"
    print(
        f"{name:20} acc {sum(right) / len(right):6.1%} short {sum(short) / len(short):6.1%} "
        f"({per_text}) {rate:6.0f} texts/s, cold start {first_s:5.2f} s{real}",
        flush=True,
    )


def product_detector() -> Detector:
    """What the analysis runs: py3langid with calibrated probabilities and an abstain threshold."""
    from engine.analysis.languages import detect_languages

    return lambda texts: list(detect_languages(texts))


CANDIDATES: dict[str, Callable[[], Detector]] = {
    "engine.analysis": product_detector,
    "lingua-all-high": lambda: lingua_detector(low_accuracy=False, restricted=False),
    "lingua-all-low": lambda: lingua_detector(low_accuracy=True, restricted=False),
    "lingua-common-high": lambda: lingua_detector(low_accuracy=False, restricted=True),
    "lingua-common-low": lambda: lingua_detector(low_accuracy=True, restricted=True),
    "py3langid": py3langid_detector,
    "langdetect": langdetect_detector,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="passes over the corpus to time")
    parser.add_argument(
        "--english",
        type=Path,
        default=SHARED_ENGLISH,
        help="folder of the UCI sentiment sentences (real English texts)",
    )
    parser.add_argument("--only", choices=list(CANDIDATES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    english = real_english_texts(args.english) if args.english.is_dir() else []
    if args.only:
        measure(args.only, CANDIDATES[args.only], args.repeat, english)
        return
    print(
        f"{len(CORPUS)} texts (30 per language), {sum(len(t.split()) <= 4 for t, _ in CORPUS)}"
        f" of at most 4 words; real English: {len(english)} UCI sentences"
    )
    for name in CANDIDATES:
        module = {"engine.analysis": "py3langid"}.get(name, name.split("-")[0])
        if importlib.util.find_spec(module) is None:
            print(f"{name:20} not installed")
            continue
        # One process per detector: lingua shares loaded models between detectors, which would
        # hide the cold-start cost of all but the first.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--only",
                name,
                "--repeat",
                str(args.repeat),
                "--english",
                str(args.english),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
