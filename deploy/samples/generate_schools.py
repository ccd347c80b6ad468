#!/usr/bin/env python3
"""Generates a fictitious extract of the « Annuaire de l'éducation » for the académie
de Toulouse, in the layout of the national open-data export (data.education.gouv.fr,
dataset fr-en-annuaire-education): semicolon-separated, header on the first line,
UTF-8 without BOM.

The schools are invented (names, addresses, telephone numbers) but realistic: real
communes with their postal and INSEE codes, IEN circonscriptions per department,
valid UAIs (7 digits whose check letter is the remainder modulo 23). The output is
deterministic: the same --count always produces the same bytes.

    python3 deploy/samples/generate_schools.py > deploy/samples/annuaire-toulouse-sample.csv
    python3 deploy/samples/generate_schools.py --count 10000 -o /tmp/annuaire-10000.csv

Four lines are meant to be refused by the importer: two CIO (« Information et
orientation »), one « Médico-social » institute and one private school « HORS
CONTRAT ». --summary prints the counts and the refused lines on stderr.

Standard library only.
"""

import argparse
import csv
import io
import random
import sys
from collections import Counter

SEED = 2026
DEFAULT_COUNT = 400

HEADER = [
    "Identifiant_de_l_etablissement",
    "Nom_etablissement",
    "Type_etablissement",
    "Statut_public_prive",
    "Adresse_1",
    "Code_postal",
    "Code_commune",
    "Nom_commune",
    "Code_departement",
    "Code_academie",
    "Code_region",
    "Ecole_maternelle",
    "Ecole_elementaire",
    "Voie_generale",
    "Voie_technologique",
    "Voie_professionnelle",
    "Telephone",
    "Mail",
    "Appartenance_Education_Prioritaire",
    "Type_contrat_prive",
    "Libelle_departement",
    "Libelle_academie",
    "code_nature",
    "libelle_nature",
    "nom_circonscription",
    "code_circonscription",
    "etat",
]

# --- UAI -------------------------------------------------------------------------

UAI_CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def uai_check_letter(digits):
    """The check letter of a UAI's 7 digits: the number modulo 23 indexes
    ABCDEFGHJKLMNPRSTUVWXYZ (no I, O, Q)."""
    if len(digits) != 7 or not digits.isdigit():
        raise ValueError(f"a UAI starts with 7 digits, not {digits!r}")
    return UAI_CHECK_LETTERS[int(digits) % 23]


def make_uai(department, suffix):
    """UAI of a department on 3 digits ("031") and a number 0..9999."""
    digits = f"{department}{suffix:04d}"
    return digits + uai_check_letter(digits)


assert uai_check_letter("0310001") == "H"
assert uai_check_letter("0000022") == "Z"

# --- Geography -------------------------------------------------------------------

# Share of the académie's schools per department (Haute-Garonne ~40 %).
DEPARTMENTS = {
    "009": {"label": "Ariège", "weight": 7, "phones": ["05 61", "05 34"]},
    "012": {"label": "Aveyron", "weight": 10, "phones": ["05 65"]},
    "031": {"label": "Haute-Garonne", "weight": 40, "phones": ["05 61", "05 62", "05 34"]},
    "032": {"label": "Gers", "weight": 8, "phones": ["05 62"]},
    "046": {"label": "Lot", "weight": 7, "phones": ["05 65"]},
    "065": {"label": "Hautes-Pyrénées", "weight": 8, "phones": ["05 62"]},
    "081": {"label": "Tarn", "weight": 11, "phones": ["05 63"]},
    "082": {"label": "Tarn-et-Garonne", "weight": 9, "phones": ["05 63"]},
}

# (commune, postal code, INSEE code, size, weight, IEN circonscription).
# Size: "c" city (écoles, collèges, lycées), "t" town (écoles, collèges), "v" village
# (écoles only). A commune split between circonscriptions appears once per part.
COMMUNES = {
    "009": [
        ("Foix", "09000", "09122", "c", 3, "Foix"),
        ("Pamiers", "09100", "09225", "c", 3, "Pamiers"),
        ("Saint-Girons", "09200", "09261", "c", 2, "Saint-Girons"),
        ("Lavelanet", "09300", "09160", "c", 1, "Lavelanet"),
        ("Tarascon-sur-Ariège", "09400", "09306", "t", 1, "Tarascon-sur-Ariège"),
        ("Ax-les-Thermes", "09110", "09032", "t", 1, "Tarascon-sur-Ariège"),
        ("Saverdun", "09700", "09282", "t", 1, "Pamiers"),
        ("Mazères", "09270", "09185", "t", 1, "Pamiers"),
        ("Mirepoix", "09500", "09194", "t", 1, "Lavelanet"),
        ("Varilhes", "09120", "09324", "v", 1, "Foix"),
        ("Lézat-sur-Lèze", "09210", "09167", "v", 1, "Pamiers"),
    ],
    "012": [
        ("Rodez", "12000", "12202", "c", 4, "Rodez"),
        ("Onet-le-Château", "12850", "12176", "t", 2, "Rodez"),
        ("Luc-la-Primaube", "12450", "12133", "t", 1, "Rodez"),
        ("Baraqueville", "12160", "12056", "v", 1, "Rodez"),
        ("Millau", "12100", "12145", "c", 3, "Millau"),
        ("Villefranche-de-Rouergue", "12200", "12300", "c", 2, "Villefranche-de-Rouergue"),
        ("Decazeville", "12300", "12089", "c", 2, "Decazeville"),
        ("Capdenac-Gare", "12700", "12052", "t", 1, "Decazeville"),
        ("Saint-Affrique", "12400", "12208", "c", 2, "Saint-Affrique"),
        ("Réquista", "12170", "12197", "v", 1, "Saint-Affrique"),
        ("Espalion", "12500", "12096", "c", 1, "Espalion"),
        ("Naucelle", "12800", "12169", "v", 1, "Villefranche-de-Rouergue"),
    ],
    "031": [
        ("Toulouse", "31000", "31555", "c", 8, "Toulouse Centre"),
        ("Toulouse", "31100", "31555", "c", 6, "Toulouse Mirail"),
        ("Toulouse", "31200", "31555", "c", 6, "Toulouse Nord"),
        ("Toulouse", "31300", "31555", "c", 5, "Toulouse Ouest"),
        ("Toulouse", "31400", "31555", "c", 6, "Toulouse Sud-Est"),
        ("Toulouse", "31500", "31555", "c", 5, "Toulouse Est"),
        ("Colomiers", "31770", "31149", "c", 4, "Colomiers"),
        ("Léguevin", "31490", "31291", "t", 1, "Colomiers"),
        ("Tournefeuille", "31170", "31557", "c", 3, "Tournefeuille"),
        ("Plaisance-du-Touch", "31830", "31424", "t", 2, "Tournefeuille"),
        ("Blagnac", "31700", "31069", "c", 3, "Blagnac"),
        ("Muret", "31600", "31395", "c", 3, "Muret"),
        ("Carbonne", "31390", "31107", "t", 1, "Muret"),
        ("Portet-sur-Garonne", "31120", "31433", "t", 1, "Portet-sur-Garonne"),
        ("Cugnaux", "31270", "31157", "t", 2, "Cugnaux"),
        ("Villeneuve-Tolosane", "31270", "31588", "t", 1, "Cugnaux"),
        ("Saint-Lys", "31470", "31499", "v", 1, "Cugnaux"),
        ("Balma", "31130", "31044", "t", 2, "Balma"),
        ("Saint-Orens-de-Gameville", "31650", "31506", "t", 2, "Balma"),
        ("L'Union", "31240", "31561", "t", 2, "L'Union"),
        ("Saint-Jean", "31240", "31488", "t", 1, "L'Union"),
        ("Castanet-Tolosan", "31320", "31113", "c", 2, "Castanet-Tolosan"),
        ("Ramonville-Saint-Agne", "31520", "31446", "t", 2, "Castanet-Tolosan"),
        ("Labège", "31670", "31254", "v", 1, "Castanet-Tolosan"),
        ("Fronton", "31620", "31202", "t", 1, "Fronton"),
        ("Grenade", "31330", "31232", "t", 1, "Fronton"),
        ("Aucamville", "31140", "31022", "t", 1, "Fronton"),
        ("Fenouillet", "31150", "31182", "v", 1, "Fronton"),
        ("Auterive", "31190", "31033", "c", 1, "Auterive"),
        ("Villefranche-de-Lauragais", "31290", "31582", "c", 1, "Villefranche-de-Lauragais"),
        ("Revel", "31250", "31451", "c", 1, "Villefranche-de-Lauragais"),
        ("Saint-Gaudens", "31800", "31483", "c", 3, "Saint-Gaudens"),
        ("Bagnères-de-Luchon", "31110", "31042", "t", 1, "Saint-Gaudens"),
        ("Montréjeau", "31210", "31390", "t", 1, "Saint-Gaudens"),
    ],
    "032": [
        ("Auch", "32000", "32013", "c", 4, "Auch"),
        ("Pavie", "32550", "32307", "v", 1, "Auch"),
        ("Vic-Fezensac", "32190", "32462", "t", 1, "Auch"),
        ("Condom", "32100", "32107", "c", 2, "Condom"),
        ("Eauze", "32800", "32119", "t", 1, "Condom"),
        ("Nogaro", "32110", "32296", "t", 1, "Condom"),
        ("Fleurance", "32500", "32132", "c", 2, "Fleurance"),
        ("Lectoure", "32700", "32208", "t", 1, "Fleurance"),
        ("L'Isle-Jourdain", "32600", "32160", "c", 2, "L'Isle-Jourdain"),
        ("Gimont", "32200", "32147", "t", 1, "L'Isle-Jourdain"),
        ("Samatan", "32130", "32410", "v", 1, "L'Isle-Jourdain"),
        ("Mirande", "32300", "32256", "c", 2, "Mirande"),
    ],
    "046": [
        ("Cahors", "46000", "46042", "c", 4, "Cahors 1"),
        ("Lalbenque", "46230", "46156", "v", 1, "Cahors 1"),
        ("Pradines", "46090", "46224", "t", 1, "Cahors 2"),
        ("Prayssac", "46220", "46225", "t", 1, "Cahors 2"),
        ("Puy-l'Évêque", "46700", "46231", "v", 1, "Cahors 2"),
        ("Figeac", "46100", "46102", "c", 3, "Figeac"),
        ("Gourdon", "46300", "46127", "c", 2, "Gourdon"),
        ("Souillac", "46200", "46309", "t", 1, "Gourdon"),
        ("Saint-Céré", "46400", "46251", "c", 1, "Saint-Céré"),
        ("Gramat", "46500", "46128", "t", 1, "Saint-Céré"),
        ("Biars-sur-Cère", "46130", "46029", "v", 1, "Saint-Céré"),
    ],
    "065": [
        ("Tarbes", "65000", "65440", "c", 3, "Tarbes 1"),
        ("Tarbes", "65000", "65440", "c", 2, "Tarbes 2"),
        ("Ibos", "65420", "65226", "v", 1, "Tarbes 1"),
        ("Aureilhan", "65800", "65047", "t", 2, "Tarbes 2"),
        ("Séméac", "65600", "65417", "t", 1, "Tarbes 3"),
        ("Bordères-sur-l'Échez", "65320", "65102", "v", 1, "Tarbes 3"),
        ("Lourdes", "65100", "65286", "c", 3, "Lourdes"),
        ("Argelès-Gazost", "65400", "65025", "t", 1, "Argelès-Gazost"),
        ("Bagnères-de-Bigorre", "65200", "65059", "c", 2, "Bagnères-de-Bigorre"),
        ("Lannemezan", "65300", "65258", "c", 2, "Lannemezan"),
        ("Vic-en-Bigorre", "65500", "65460", "c", 1, "Vic-en-Bigorre"),
        ("Maubourguet", "65700", "65304", "v", 1, "Vic-en-Bigorre"),
    ],
    "081": [
        ("Albi", "81000", "81004", "c", 5, "Albi"),
        ("Saint-Juéry", "81160", "81257", "t", 1, "Albi"),
        ("Castres", "81100", "81065", "c", 4, "Castres"),
        ("Labruguière", "81290", "81120", "t", 1, "Castres"),
        ("Mazamet", "81200", "81163", "c", 2, "Mazamet"),
        ("Gaillac", "81600", "81099", "c", 2, "Gaillac"),
        ("Rabastens", "81800", "81220", "t", 1, "Gaillac"),
        ("Graulhet", "81300", "81105", "c", 2, "Graulhet"),
        ("Réalmont", "81120", "81222", "v", 1, "Graulhet"),
        ("Lavaur", "81500", "81140", "c", 2, "Lavaur"),
        ("Saint-Sulpice-la-Pointe", "81370", "81271", "t", 1, "Lavaur"),
        ("Carmaux", "81400", "81060", "c", 2, "Carmaux"),
        ("Cordes-sur-Ciel", "81170", "81069", "v", 1, "Carmaux"),
    ],
    "082": [
        ("Montauban", "82000", "82121", "c", 3, "Montauban 1"),
        ("Montauban", "82000", "82121", "c", 3, "Montauban 2"),
        ("Montech", "82700", "82125", "t", 1, "Montauban 2"),
        ("Grisolles", "82170", "82075", "t", 1, "Montauban 3"),
        ("Verdun-sur-Garonne", "82600", "82190", "t", 1, "Montauban 3"),
        ("Labastide-Saint-Pierre", "82370", "82079", "v", 1, "Montauban 3"),
        ("Castelsarrasin", "82100", "82033", "c", 2, "Castelsarrasin"),
        ("Beaumont-de-Lomagne", "82500", "82013", "t", 1, "Castelsarrasin"),
        ("Moissac", "82200", "82112", "c", 2, "Moissac"),
        ("Valence", "82400", "82186", "c", 1, "Valence d'Agen"),
        ("Caussade", "82300", "82037", "c", 1, "Caussade"),
        ("Nègrepelisse", "82800", "82134", "t", 1, "Caussade"),
    ],
}


def circonscription_codes():
    """Stable code per circonscription: C<department>-<rank in alphabetical order>."""
    codes = {}
    for department, communes in COMMUNES.items():
        names = sorted({c[5] for c in communes})
        for rank, name in enumerate(names, 1):
            codes[(department, name)] = f"C{department}-{rank:02d}"
    return codes


CIRCONSCRIPTION_CODES = circonscription_codes()

# Éducation prioritaire: REP+ networks in a few quarters, REP in the larger towns.
REP_PLUS_ZONES = {
    ("Toulouse", "31100"),
    ("Toulouse", "31200"),
    ("Montauban", "82000"),
    ("Albi", "81000"),
    ("Tarbes", "65000"),
}
REP_COMMUNES = {
    "Toulouse", "Colomiers", "Blagnac", "Muret", "Cugnaux", "Pamiers", "Saint-Girons",
    "Foix", "Decazeville", "Millau", "Auch", "Cahors", "Figeac", "Lourdes", "Castres",
    "Graulhet", "Carmaux", "Mazamet", "Castelsarrasin", "Moissac", "Lannemezan",
}

# --- Names -----------------------------------------------------------------------

PEOPLE = [
    "Jean Jaurès", "Jules Ferry", "Victor Hugo", "Jean Moulin", "Marie Curie",
    "Louise Michel", "Jacques Prévert", "Paul Bert", "Condorcet", "Jean de La Fontaine",
    "Antoine de Saint-Exupéry", "Simone Veil", "Lucie Aubrac", "Marcel Pagnol",
    "Georges Brassens", "Claude Nougaro", "Olympe de Gouges", "Léo Lagrange",
    "Joséphine Baker", "Jean Macé", "Anatole France", "Frédéric Mistral",
    "Alphonse Daudet", "Jules Verne", "Émile Zola", "Camille Claudel", "Germaine Tillion",
    "Aimé Césaire", "Romain Rolland", "George Sand", "Paul Langevin", "Jean Rostand",
    "Albert Camus", "Clément Ader", "Pierre et Marie Curie", "Françoise Dolto",
    "Rosa Parks", "Nelson Mandela", "Jean Monnet", "Pablo Picasso", "Henri Matisse",
    "Paul Éluard", "Robert Desnos", "Louis Pergaud", "Marcelle Pardé", "Maurice Fonvieille",
]
PLACES = [
    "Les Tilleuls", "Les Platanes", "Les Acacias", "Les Marronniers", "Les Lilas",
    "Les Glycines", "Les Coquelicots", "Les Capucines", "Le Petit Prince", "Les Oliviers",
    "La Prairie", "Les Mimosas", "Le Château", "Le Bourg", "Les Violettes", "Les Cèdres",
    "Les Chênes", "Le Parc", "Les Sorbiers", "Les Pins", "Les Hirondelles", "Le Moulin",
    "Les Jardins", "La Fontaine", "Les Vignes", "Le Ramier", "Bellevue", "Les Arènes",
]
COLLEGE_NAMES = [
    "Pierre de Fermat", "Jean Jaurès", "Jean Moulin", "Michelet", "Clémence Isaure",
    "Bellevue", "Les Chalets", "Lamartine", "Émile Zola", "Jules Vallès",
    "Pierre Mendès France", "Jean-Pierre Vernant", "Anatole France", "Paul Éluard",
    "Lucie Aubrac", "Georges Brassens", "Jean Rostand", "Marcel Pagnol", "Victor Hugo",
    "Stendhal", "Montesquieu", "Condorcet", "Voltaire", "Jean Monnet", "Olympe de Gouges",
    "Aimé Césaire", "Rosa Parks", "Simone Veil", "Germaine Tillion", "Jean Mermoz",
    "Antoine de Saint-Exupéry", "Les Ormes", "Le Ramier", "Val de Saune", "Léon Blum",
    "Albert Camus", "Guillaume Apollinaire", "Marguerite Duras", "Gaston Fébus",
    "Jean-Louis Étienne", "Arthur Rimbaud", "Françoise Sagan", "Pablo Neruda",
]
LYCEE_NAMES = [
    "Pierre de Fermat", "Saint-Sernin", "Déodat de Séverac", "Bellevue", "Raymond Naves",
    "Marcelin Berthelot", "Ozenne", "Rive Gauche", "Stéphane Hessel", "Gabriel Fauré",
    "Ferdinand Foch", "Pardailhan", "Clément Marot", "Théophile Gautier", "Lapérouse",
    "Antoine Bourdelle", "Jules Michelet", "Champollion", "Bagatelle", "Victor Duruy",
    "Marie Curie", "Les Arènes", "Galilée", "Rascol", "Bellevue", "Pierre-Paul Riquet",
    "Françoise", "Edmond Rostand", "Jean Dupuy", "Monnerville", "Las Cases", "Vincent Auriol",
]
LP_NAMES = [
    "Guynemer", "Roland Garros", "Charles de Gaulle", "Le Mirail", "Myriam", "Jean Baylet",
    "Le Sidobre", "Gaston Crampe", "Aristide Bergès", "Louise Michel", "Jolimont",
    "Renée Bonnet", "Lautréamont", "Jean Vigo", "Hélène Boucher", "Urbain Vitry",
    "Eugène Montel", "Charles Privat", "Alexis Monteil", "Beau Soleil", "Le Garros",
]
SAINTS = [
    "Sainte-Marie", "Notre-Dame", "Saint-Joseph", "Jeanne d'Arc", "Sainte-Thérèse",
    "Saint-Pierre", "Sacré-Cœur", "Sainte-Germaine", "La Salle", "Saint-Théodard",
    "Émilie de Rodat", "Le Caousou", "Sainte-Famille", "Saint-Louis", "Immaculée Conception",
    "Saint-Roch", "Sainte-Jeanne de Lestonnac", "Saint-Vincent de Paul",
]
EREA_NAMES = ["Françoise Dolto", "Jean Monnet", "Paul Claudel", "Louis Braille"]

STREET_NAMES = [
    "rue Jean Jaurès", "rue des Écoles", "avenue de la République", "rue Victor Hugo",
    "avenue du Général de Gaulle", "allée des Tilleuls", "rue Pasteur", "place de la Mairie",
    "chemin du Stade", "avenue des Pyrénées", "chemin du Moulin", "rue de l'Église",
    "boulevard Gambetta", "rue Émile Zola", "avenue de la Gare", "impasse des Lilas",
    "rue du 8 Mai 1945", "avenue du 11 Novembre", "rue Paul Sabatier", "avenue de Verdun",
    "allée Saint-Exupéry", "boulevard Clemenceau", "allée des Platanes", "rue du Château",
    "place Jules Ferry", "route de Toulouse", "chemin des Vignes", "rue des Arts",
    "avenue Marcel Pagnol", "rue Camille Claudel", "boulevard Lascrosses", "rue du Lycée",
]

# --- Generation ------------------------------------------------------------------


def largest_remainder(total, weights):
    """Splits total into integers proportional to weights (a list), summing to total."""
    weight_sum = sum(weights)
    exact = [total * w / weight_sum for w in weights]
    shares = [int(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


class Generator:
    def __init__(self, count):
        self.rng = random.Random(SEED)
        self.count = count
        self.rows = []
        self.names_used = set()
        self.expected_refusals = {}  # id(row) -> reason

    # Small helpers -------------------------------------------------------------

    def commune(self, department, sizes):
        candidates = [c for c in COMMUNES[department] if c[3] in sizes]
        return self.rng.choices(candidates, weights=[c[4] for c in candidates])[0]

    def address(self, commune):
        number = self.rng.randint(1, 120)
        street = self.rng.choice(STREET_NAMES)
        roll = self.rng.random()
        if roll < 0.04:
            # Commas inside a field: the importer must not split on them.
            return f"{number}, {street}"
        if roll < 0.07 and commune[3] == "v":
            return f"Lieu-dit Le Bourg, {street}"
        if roll < 0.10:
            return f"{number} bis {street}"
        return f"{number} {street}"

    def telephone(self, department):
        prefix = self.rng.choice(DEPARTMENTS[department]["phones"])
        pairs = " ".join(f"{self.rng.randint(0, 99):02d}" for _ in range(3))
        return f"{prefix} {pairs}"

    def unique_name(self, commune, make):
        """A name not yet used in this commune; after a few tries, numbered like the
        real directory does (« École élémentaire Jean Jaurès 2 »)."""
        for _ in range(25):
            name = make()
            if (name, commune[0]) not in self.names_used:
                break
        rank = 2
        base = name
        while (name, commune[0]) in self.names_used:
            name = f"{base} {rank}"
            rank += 1
        self.names_used.add((name, commune[0]))
        return name

    def priority(self, commune, public):
        if not public:
            return ""
        roll = self.rng.random()
        if (commune[0], commune[1]) in REP_PLUS_ZONES:
            if roll < (0.30 if commune[0] == "Toulouse" else 0.15):
                return "REP+"
            if roll < 0.45:
                return "REP"
            return ""
        if commune[0] in REP_COMMUNES and roll < 0.15:
            return "REP"
        return ""

    def row(self, department, commune, **fields):
        row = {h: "" for h in HEADER}
        row.update(
            {
                "Adresse_1": self.address(commune),
                "Code_postal": commune[1],
                "Code_commune": commune[2],
                "Nom_commune": commune[0],
                "Code_departement": department,
                "Code_academie": "16",
                "Code_region": "76",
                "Telephone": self.telephone(department),
                "Libelle_departement": DEPARTMENTS[department]["label"],
                "Libelle_academie": "Toulouse",
                "Statut_public_prive": "Public",
                "etat": "OUVERT",
            }
        )
        row.update(fields)
        row["_department"] = department
        self.rows.append(row)
        return row

    # One row per kind ----------------------------------------------------------

    def ecole(self, department, private=False, contract="CONTRAT D'ASSOCIATION TOUTES CLASSES",
              commune=None, name=None):
        commune = commune or self.commune(department, "ctv")
        roll = self.rng.random()
        if private:
            nature, maternelle, elementaire = "151", "1", "1"
            make = lambda: f"École privée {self.rng.choice(SAINTS)}"
        elif roll < 0.35:
            nature, maternelle, elementaire = "101", "1", "0"
            make = lambda: f"École maternelle {self.rng.choice(PLACES + PEOPLE)}"
        elif roll < 0.70:
            nature, maternelle, elementaire = "151", "0", "1"
            make = lambda: f"École élémentaire {self.rng.choice(PEOPLE + PLACES)}"
        else:
            nature, maternelle, elementaire = "151", "1", "1"
            make = lambda: f"École primaire {self.rng.choice(PEOPLE + PLACES)}"
        circonscription = commune[5]
        return self.row(
            department,
            commune,
            Nom_etablissement=name or self.unique_name(commune, make),
            Type_etablissement="Ecole",
            Statut_public_prive="Privé" if private else "Public",
            Ecole_maternelle=maternelle,
            Ecole_elementaire=elementaire,
            Appartenance_Education_Prioritaire=self.priority(commune, not private),
            Type_contrat_prive=contract if private else "",
            code_nature=nature,
            libelle_nature="ECOLE MATERNELLE" if nature == "101" else "ECOLE DE NIVEAU ELEMENTAIRE",
            nom_circonscription=circonscription,
            code_circonscription=CIRCONSCRIPTION_CODES[(department, circonscription)],
        )

    def college(self, department, private=False):
        commune = self.commune(department, "ct")
        if private:
            make = lambda: f"Collège privé {self.rng.choice(SAINTS)}"
        else:
            make = lambda: f"Collège {self.rng.choice(COLLEGE_NAMES)}"
        return self.row(
            department,
            commune,
            Nom_etablissement=self.unique_name(commune, make),
            Type_etablissement="Collège",
            Statut_public_prive="Privé" if private else "Public",
            Appartenance_Education_Prioritaire=self.priority(commune, not private),
            Type_contrat_prive="CONTRAT D'ASSOCIATION TOUTES CLASSES" if private else "",
            code_nature="340",
            libelle_nature="COLLEGE",
        )

    def lycee(self, department, private=False):
        commune = self.commune(department, "c")
        nature = self.rng.choices(["300", "306", "320"], weights=[40, 30, 30])[0]
        if nature == "300":
            label, voies = "LYCEE D ENSEIGNEMENT GENERAL ET TECHNOLOGIQUE", ("1", "1", "0")
            prefix = "Lycée privé" if private else "Lycée"
            names = SAINTS if private else LYCEE_NAMES
        elif nature == "306":
            label, voies = "LYCEE POLYVALENT", ("1", "1", "1")
            prefix = "Lycée polyvalent privé" if private else self.rng.choice(
                ["Lycée polyvalent", "Lycée"]
            )
            names = SAINTS if private else LYCEE_NAMES
        else:
            label, voies = "LYCEE PROFESSIONNEL", ("0", "0", "1")
            prefix = "Lycée professionnel privé" if private else "Lycée professionnel"
            names = SAINTS if private else LP_NAMES
        return self.row(
            department,
            commune,
            Nom_etablissement=self.unique_name(
                commune, lambda: f"{prefix} {self.rng.choice(names)}"
            ),
            Type_etablissement="Lycée",
            Statut_public_prive="Privé" if private else "Public",
            Voie_generale=voies[0],
            Voie_technologique=voies[1],
            Voie_professionnelle=voies[2],
            Type_contrat_prive="CONTRAT D'ASSOCIATION TOUTES CLASSES" if private else "",
            code_nature=nature,
            libelle_nature=label,
        )

    def erea(self, department, index):
        commune = self.commune(department, "c")
        return self.row(
            department,
            commune,
            Nom_etablissement=self.unique_name(
                commune, lambda: f"EREA {EREA_NAMES[index % len(EREA_NAMES)]}"
            ),
            Type_etablissement="EREA",
            Voie_generale="0",
            Voie_technologique="0",
            Voie_professionnelle="1",
            code_nature="370",
            libelle_nature="ETABLISSEMENT REGIONAL D'ENSEIGNEMENT ADAPTE",
        )

    def out_of_scope(self):
        """The rows the pole does not cover, as the real export contains them."""
        cio = [
            ("031", ("Toulouse", "31000", "31555", "c", 1, "Toulouse Centre"), "CIO Toulouse Centre"),
            ("082", ("Montauban", "82000", "82121", "c", 1, "Montauban 1"), "CIO de Montauban"),
        ]
        for department, commune, name in cio:
            row = self.row(
                department,
                commune,
                Nom_etablissement=name,
                Type_etablissement="Information et orientation",
                code_nature="810",
                libelle_nature="CENTRE D'INFORMATION ET D'ORIENTATION",
            )
            self.expected_refusals[id(row)] = "type « Information et orientation » hors champ"
        row = self.row(
            "012",
            ("Rodez", "12000", "12202", "c", 1, "Rodez"),
            Nom_etablissement="Institut médico-éducatif Les Peupliers",
            Type_etablissement="Médico-social",
        )
        self.expected_refusals[id(row)] = "type « Médico-social » hors champ"
        row = self.ecole(
            "031",
            private=True,
            contract="HORS CONTRAT",
            commune=("Tournefeuille", "31170", "31557", "c", 1, "Tournefeuille"),
            name="École Montessori Les Petits Explorateurs",
        )
        self.expected_refusals[id(row)] = "école privée HORS CONTRAT"

    # The whole file ------------------------------------------------------------

    def generate(self):
        self.out_of_scope()
        fixed = len(self.rows)
        ereas = max(2, round(self.count * 0.005))
        colleges = round(self.count * 0.20)
        lycees = round(self.count * 0.12)
        ecoles = self.count - fixed - ereas - colleges - lycees
        if ecoles < 1:
            raise SystemExit(f"--count {self.count} est trop petit (minimum 20)")

        departments = list(DEPARTMENTS)
        weights = [DEPARTMENTS[d]["weight"] for d in departments]
        erea_order = ["031", "081", "082", "012", "065", "009", "032", "046"]
        for index in range(ereas):
            self.erea(erea_order[index % len(erea_order)], index)
        for department, n in zip(departments, largest_remainder(ecoles, weights)):
            for _ in range(n):
                self.ecole(department, private=self.rng.random() < 0.12)
        for department, n in zip(departments, largest_remainder(colleges, weights)):
            for _ in range(n):
                self.college(department, private=self.rng.random() < 0.20)
        for department, n in zip(departments, largest_remainder(lycees, weights)):
            for _ in range(n):
                self.lycee(department, private=self.rng.random() < 0.22)

        # UAIs: distinct 4-digit suffixes per department, then the check letter.
        per_department = Counter(r["_department"] for r in self.rows)
        for department in departments:
            if per_department[department] > 9999:
                raise SystemExit(
                    f"--count {self.count} : plus de 9999 établissements dans le {department}, "
                    "les UAI ne seraient plus uniques"
                )
        suffixes = {
            d: self.rng.sample(range(1, 10000), per_department[d]) for d in departments
        }
        for row in self.rows:
            uai = make_uai(row["_department"], suffixes[row["_department"]].pop())
            row["Identifiant_de_l_etablissement"] = uai
            row["Mail"] = f"ce.{uai}@ac-toulouse.fr"

        self.rng.shuffle(self.rows)
        uais = [r["Identifiant_de_l_etablissement"] for r in self.rows]
        assert len(set(uais)) == len(uais) == self.count
        assert all(u[7] == uai_check_letter(u[:7]) for u in uais)
        return self.rows

    def csv_bytes(self):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(HEADER)
        for row in self.rows:
            writer.writerow([row[h] for h in HEADER])
        return out.getvalue().encode("utf-8")

    def summary(self):
        lines = [f"{len(self.rows)} établissements"]
        kinds = ["Ecole", "Collège", "Lycée", "EREA", "Information et orientation", "Médico-social"]
        departments = list(DEPARTMENTS)
        table = Counter((r["Type_etablissement"], r["_department"]) for r in self.rows)
        lines.append("type".ljust(28) + "".join(d.rjust(6) for d in departments) + "total".rjust(7))
        for kind in kinds:
            counts = [table[(kind, d)] for d in departments]
            lines.append(kind.ljust(28) + "".join(str(c).rjust(6) for c in counts)
                         + str(sum(counts)).rjust(7))
        totals = Counter(r["_department"] for r in self.rows)
        lines.append("total".ljust(28) + "".join(str(totals[d]).rjust(6) for d in departments)
                     + str(len(self.rows)).rjust(7))
        natures = Counter((r["Type_etablissement"], r["code_nature"]) for r in self.rows)
        lines.append("natures : " + ", ".join(
            f"{k[0]} {k[1] or '-'} : {v}" for k, v in sorted(natures.items())))
        private = sum(r["Statut_public_prive"] == "Privé" for r in self.rows)
        lines.append(f"privés : {private} ({100 * private / len(self.rows):.1f} %)")
        priority = Counter(r["Appartenance_Education_Prioritaire"] for r in self.rows)
        lines.append(f"REP : {priority['REP']}, REP+ : {priority['REP+']}")
        commas = sum(any("," in r[h] for h in HEADER) for r in self.rows)
        lines.append(f"lignes contenant une virgule : {commas}")
        lines.append(f"lignes à refuser : {len(self.expected_refusals)}")
        for number, row in enumerate(self.rows, 2):
            reason = self.expected_refusals.get(id(row))
            if reason:
                lines.append(
                    f"  ligne {number} : {row['Identifiant_de_l_etablissement']} "
                    f"{row['Nom_etablissement']} ({reason})"
                )
        return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(
        description="Génère un extrait fictif de l'Annuaire de l'éducation (académie de Toulouse)."
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT,
                        help=f"nombre de lignes (défaut {DEFAULT_COUNT})")
    parser.add_argument("-o", "--output", help="fichier de sortie (défaut : sortie standard)")
    parser.add_argument("--summary", action="store_true",
                        help="affiche les effectifs et les lignes à refuser sur la sortie d'erreur")
    args = parser.parse_args()
    if args.count < 20:
        parser.error("--count doit valoir au moins 20")

    generator = Generator(args.count)
    generator.generate()
    data = generator.csv_bytes()
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if args.summary:
        sys.stderr.write(generator.summary())


if __name__ == "__main__":
    main()
