"""Deterministic French sentences for checking spaCy pipelines: a small grammar of
templates and hand-written vocabulary, with names, places and dates for the NER.

No corpus is shipped; ``sentences(n, seed)`` always gives the same n sentences."""

import random
from typing import List

# (singular, plural, gender) so determiners and adjectives can agree.
NOUNS = [
    ("ministre", "ministres", "m"),
    ("enfant", "enfants", "m"),
    ("voiture", "voitures", "f"),
    ("maison", "maisons", "f"),
    ("livre", "livres", "m"),
    ("chanteuse", "chanteuses", "f"),
    ("médecin", "médecins", "m"),
    ("entreprise", "entreprises", "f"),
    ("projet", "projets", "m"),
    ("rivière", "rivières", "f"),
    ("professeur", "professeurs", "m"),
    ("ville", "villes", "f"),
    ("journal", "journaux", "m"),
    ("lettre", "lettres", "f"),
    ("ordinateur", "ordinateurs", "m"),
    ("réunion", "réunions", "f"),
    ("chien", "chiens", "m"),
    ("fenêtre", "fenêtres", "f"),
    ("gouvernement", "gouvernements", "m"),
    ("école", "écoles", "f"),
    ("marché", "marchés", "m"),
    ("question", "questions", "f"),
    ("avocat", "avocats", "m"),
    ("équipe", "équipes", "f"),
    ("tableau", "tableaux", "m"),
    ("chanson", "chansons", "f"),
    ("village", "villages", "m"),
    ("étudiante", "étudiantes", "f"),
    ("boulanger", "boulangers", "m"),
    ("loi", "lois", "f"),
    ("train", "trains", "m"),
    ("montagne", "montagnes", "f"),
    ("musée", "musées", "m"),
    ("voisine", "voisines", "f"),
    ("rapport", "rapports", "m"),
    ("décision", "décisions", "f"),
]
# (masculine singular, feminine singular, masculine plural, feminine plural)
ADJECTIVES = [
    ("grand", "grande", "grands", "grandes"),
    ("petit", "petite", "petits", "petites"),
    ("nouveau", "nouvelle", "nouveaux", "nouvelles"),
    ("vieux", "vieille", "vieux", "vieilles"),
    ("important", "importante", "importants", "importantes"),
    ("célèbre", "célèbre", "célèbres", "célèbres"),
    ("rapide", "rapide", "rapides", "rapides"),
    ("ancien", "ancienne", "anciens", "anciennes"),
    ("beau", "belle", "beaux", "belles"),
    ("premier", "première", "premiers", "premières"),
    ("long", "longue", "longs", "longues"),
    ("public", "publique", "publics", "publiques"),
    ("heureux", "heureuse", "heureux", "heureuses"),
]
# (3rd singular present, 3rd plural present, past participle, 3rd singular future, 3rd imperfect)
VERBS = [
    ("regarde", "regardent", "regardé", "regardera", "regardait"),
    ("présente", "présentent", "présenté", "présentera", "présentait"),
    ("prépare", "préparent", "préparé", "préparera", "préparait"),
    ("achète", "achètent", "acheté", "achètera", "achetait"),
    ("vend", "vendent", "vendu", "vendra", "vendait"),
    ("découvre", "découvrent", "découvert", "découvrira", "découvrait"),
    ("critique", "critiquent", "critiqué", "critiquera", "critiquait"),
    ("écrit", "écrivent", "écrit", "écrira", "écrivait"),
    ("construit", "construisent", "construit", "construira", "construisait"),
    ("choisit", "choisissent", "choisi", "choisira", "choisissait"),
    ("attend", "attendent", "attendu", "attendra", "attendait"),
    ("annonce", "annoncent", "annoncé", "annoncera", "annonçait"),
]
INTRANSITIVE = [
    ("arrive", "arrivent", "arrivé", "arrivera", "arrivait", "être"),
    ("part", "partent", "parti", "partira", "partait", "être"),
    ("travaille", "travaillent", "travaillé", "travaillera", "travaillait", "avoir"),
    ("dort", "dorment", "dormi", "dormira", "dormait", "avoir"),
    ("parle", "parlent", "parlé", "parlera", "parlait", "avoir"),
    ("revient", "reviennent", "revenu", "reviendra", "revenait", "être"),
]
FIRST_NAMES = [
    "Marie",
    "Jean",
    "Sophie",
    "Pierre",
    "Camille",
    "Lucas",
    "Claire",
    "Antoine",
    "Julie",
    "Nicolas",
    "Amélie",
    "Thomas",
    "Léa",
    "Mathieu",
    "Chloé",
    "Hugo",
    "Inès",
    "Karim",
]
LAST_NAMES = [
    "Dupont",
    "Martin",
    "Bernard",
    "Lefèvre",
    "Moreau",
    "Girard",
    "Fontaine",
    "Rousseau",
    "Mercier",
    "Blanc",
    "Garnier",
    "Chevalier",
    "Benali",
    "Lambert",
]
CITIES = [
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Bordeaux",
    "Lille",
    "Nantes",
    "Strasbourg",
    "Montpellier",
    "Rennes",
    "Grenoble",
    "Genève",
    "Bruxelles",
    "Québec",
    "Dakar",
    "Nice",
]
COUNTRIES = [
    ("la France", "en France"),
    ("la Belgique", "en Belgique"),
    ("le Canada", "au Canada"),
    ("la Suisse", "en Suisse"),
    ("le Sénégal", "au Sénégal"),
    ("l'Italie", "en Italie"),
    ("le Japon", "au Japon"),
    ("l'Allemagne", "en Allemagne"),
    ("le Maroc", "au Maroc"),
]
ORGANIZATIONS = [
    "la SNCF",
    "Air France",
    "l'Assemblée nationale",
    "le Sénat",
    "l'Union européenne",
    "Renault",
    "la Banque de France",
    "l'UNESCO",
    "le Conseil constitutionnel",
    "Michelin",
    "l'Organisation mondiale de la santé",
    "Radio France",
    "le Parlement européen",
]
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
TIMES = [
    "hier",
    "aujourd'hui",
    "demain",
    "ce matin",
    "la semaine dernière",
    "l'année prochaine",
    "depuis longtemps",
    "souvent",
    "parfois",
    "ce soir",
    "lundi",
    "vendredi après-midi",
]
ADVERBS = ["vraiment", "rapidement", "lentement", "encore", "déjà", "toujours", "bien", "mal"]
CONNECTIVES = ["mais", "et", "car", "donc", "pourtant", "puis"]
SUBORDINATORS = ["parce que", "quand", "bien que", "alors que", "si", "lorsque"]
REPORTING = ["affirme", "pense", "déclare", "explique", "raconte", "estime", "sait"]
NUMBER_WORDS = ["deux", "trois", "dix", "cent", "quarante", "mille"]


class FrenchGrammar:
    """Random but reproducible French clauses and sentences."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def pick(self, items):
        return self.random.choice(items)

    def person(self) -> str:
        first, last = self.pick(FIRST_NAMES), self.pick(LAST_NAMES)
        return self.pick([f"{first} {last}", first, f"M. {last}", f"Mme {last}"])

    def date(self) -> str:
        day = self.random.randint(1, 28)
        year = self.random.randint(1950, 2030)
        return self.pick(
            [
                f"le {day} {self.pick(MONTHS)} {year}",
                f"en {self.pick(MONTHS)}",
                f"en {year}",
                self.pick(TIMES),
            ]
        )

    def noun_phrase(self, plural: bool = None) -> tuple:
        """(text, plural, gender) for a determiner + noun (+ adjective) phrase."""
        singular, plural_form, gender = self.pick(NOUNS)
        if plural is None:
            plural = self.random.random() < 0.35
        noun = plural_form if plural else singular
        if plural:
            determiner = self.pick(["les", "des", "ces", "leurs", "plusieurs", "nos"])
        elif gender == "m":
            determiner = self.pick(["le", "un", "ce", "son", "notre"])
        else:
            determiner = self.pick(["la", "une", "cette", "sa", "notre"])
        if noun[0] in "aeéèêiouh" and determiner in ("le", "la"):
            determiner = "l'"
        if determiner == "ce" and noun[0] in "aeéèêiou":
            determiner = "cet"
        text = f"{determiner} {noun}".replace("l' ", "l'")
        if self.random.random() < 0.45:
            adjective = self.pick(ADJECTIVES)
            index = (2 if plural else 0) + (1 if gender == "f" else 0)
            text = f"{text} {adjective[index]}"
        if self.random.random() < 0.2:
            text = f"{text} de {self.pick(CITIES)}"
        return text, plural, gender

    def subject(self) -> tuple:
        roll = self.random.random()
        if roll < 0.3:
            return self.person(), False, "m"
        if roll < 0.45:
            pronoun = self.pick(
                [("il", False), ("elle", False), ("ils", True), ("elles", True), ("on", False)]
            )
            return pronoun[0], pronoun[1], "m"
        if roll < 0.52:
            return self.pick(ORGANIZATIONS), False, "f"
        return self.noun_phrase()

    def place(self) -> str:
        roll = self.random.random()
        if roll < 0.5:
            return f"à {self.pick(CITIES)}"
        if roll < 0.8:
            return self.pick(COUNTRIES)[1]
        return self.pick(["dans", "devant", "près de", "derrière"]) + " " + self.noun_phrase()[0]

    def transitive_clause(self) -> str:
        subject, plural, _ = self.subject()
        present, present_plural, participle, future, imperfect = self.pick(VERBS)
        obj = self.pick(
            [
                self.noun_phrase()[0],
                self.noun_phrase()[0],
                self.person(),
                self.pick(ORGANIZATIONS),
                self.pick(COUNTRIES)[0],
            ]
        )
        tense = self.random.random()
        if tense < 0.4:
            verb = present_plural if plural else present
        elif tense < 0.7:
            verb = ("ont " if plural else "a ") + participle
        elif tense < 0.85:
            verb = future[:-1] + "ont" if plural else future
        else:
            verb = imperfect[:-3] + "aient" if plural else imperfect
        if self.random.random() < 0.15:
            first, rest = (verb.split(" ", 1) + [""])[:2]
            negation = "n'" if first[0] in "aeéèêiou" else "ne "
            verb = f"{negation}{first} pas {rest}".strip()
        clause = f"{subject} {verb} {obj}"
        if self.random.random() < 0.4:
            clause += " " + self.place()
        if self.random.random() < 0.3:
            clause += " " + self.date()
        if self.random.random() < 0.15:
            clause += " " + self.pick(ADVERBS)
        return clause

    def intransitive_clause(self) -> str:
        subject, plural, gender = self.subject()
        present, present_plural, participle, future, _, auxiliary = self.pick(INTRANSITIVE)
        if self.random.random() < 0.5:
            verb = present_plural if plural else present
        elif auxiliary == "avoir":
            verb = ("ont " if plural else "a ") + participle
        else:
            agreement = ("e" if gender == "f" else "") + ("s" if plural else "")
            verb = ("sont " if plural else "est ") + participle + agreement
        clause = f"{subject} {verb}"
        if self.random.random() < 0.6:
            clause += " " + self.place()
        if self.random.random() < 0.4:
            clause += " " + self.date()
        return clause

    def clause(self) -> str:
        if self.random.random() < 0.65:
            return self.transitive_clause()
        return self.intransitive_clause()

    def sentence(self) -> str:
        roll = self.random.random()
        if roll < 0.35:
            text = self.clause()
        elif roll < 0.55:
            text = f"{self.clause()}, {self.pick(CONNECTIVES)} {self.clause()}"
        elif roll < 0.7:
            text = f"{self.clause()} {self.pick(SUBORDINATORS)} {self.clause()}"
        elif roll < 0.8:
            clause = self.clause()
            that = "qu'" if clause[0] in "aeéèêiouAEÉIOU" else "que "
            text = f"{self.person()} {self.pick(REPORTING)} {that}{clause}"
        elif roll < 0.87:
            count = self.pick(NUMBER_WORDS + [str(self.random.randint(2, 9999))])
            singular, plural, _ = self.pick(NOUNS)
            text = (
                f"{self.pick(ORGANIZATIONS)} a annoncé {count} {plural} "
                f"{self.place()} {self.date()}"
            )
        elif roll < 0.94:
            text = self.pick(["Est-ce que ", "Pourquoi est-ce que ", "Quand est-ce que "])
            text += self.clause()
            return text[0].upper() + text[1:] + " ?"
        else:
            text = f"Selon {self.person()}, {self.clause()}"
        text = text[0].upper() + text[1:]
        return text + self.pick([".", ".", ".", " !", "..."])


def sentences(n: int, seed: int = 0) -> List[str]:
    """n reproducible French sentences (duplicates are allowed but rare)."""
    grammar = FrenchGrammar(seed)
    return [grammar.sentence() for _ in range(n)]


if __name__ == "__main__":
    for line in sentences(20):
        print(line)
