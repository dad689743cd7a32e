"""Words the generator builds its records from: names in two scripts, places, kinds, phrases.

Deliberately plain lists: the point is realistic sizes and a realistic spread of words for the
full-text index (a few very common words, many rare ones), not realistic prose.
"""

# Where cases happen, with weights (a few countries hold most of them).
COUNTRIES = {
    "RU": 25, "BY": 12, "TR": 10, "CN": 10, "KZ": 8, "IR": 8, "AZ": 6, "EG": 5,
    "VN": 4, "TJ": 3, "UZ": 3, "TM": 2, "SA": 2, "BH": 1, "CU": 1,
}  # fmt: skip

FIRST_NAMES = [
    "Vladimir", "Aiman", "Aliya", "Sergei", "Olga", "Maria", "Alexei", "Yulia", "Ilya", "Natalia",
    "Dmitry", "Ekaterina", "Ivan", "Svetlana", "Nikolai", "Tatiana", "Pavel", "Irina", "Mikhail",
    "Anastasia", "Ales", "Maryna", "Viktar", "Ihar", "Nurlan", "Zhanna", "Yerlan", "Gulnara",
    "Ahmet", "Ayse", "Mehmet", "Elif", "Osman", "Zeynep", "Li", "Wei", "Xiaobo", "Ming", "Ilham",
    "Narges", "Nasrin", "Reza", "Leyla", "Ilgar", "Rasul", "Khadija", "Alaa", "Mahienour", "Ahmed",
    "Nguyen", "Pham", "Tran", "Bakhrom", "Dilmurod", "Gulshan", "Jose", "Luis", "Loujain", "Nabeel",
    "Maryam", "Abdulhadi",
]  # fmt: skip

# Surnames are built from syllables, so there are many distinct ones and a search for one finds a few people.
SURNAME_STARTS = [
    "Ko", "Be", "Mar", "Tu", "Um", "Na", "Sa", "Al", "Ka", "Ya", "Ze", "Bo", "Vo", "Gri", "Dra", "Le",
    "Mi", "Pe", "Ro", "Sha", "Ti", "Us", "Fe", "Kha", "Zha", "Or", "Is", "Ba", "De", "Lu",
]  # fmt: skip
SURNAME_MIDDLES = ["", "ra", "li", "zo", "ne", "ma", "ta", "ri", "bu", "shi", "ke", "do", "gu", "va", "ly", "min"]
SURNAME_ENDS = [
    "lov", "rova", "bekov", "bekova", "enko", "sky", "skaya", "ov", "ova", "ev", "eva", "yan", "oglu",
    "zade", "ich", "in", "ina", "ski", "ar", "uly",
]  # fmt: skip

# Latin to Cyrillic, good enough for aliases: the search must find people in either script.
CYRILLIC = {
    "shch": "щ", "kh": "х", "zh": "ж", "ch": "ч", "sh": "ш", "ya": "я", "yu": "ю", "ye": "е",
    "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и", "y": "й",
    "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р", "s": "с", "t": "т",
    "u": "у", "f": "ф", "h": "х", "c": "ц", "w": "в", "x": "кс", "j": "дж", "q": "к",
}  # fmt: skip

CITIES = [
    "Almaty", "Astana", "Minsk", "Grodno", "Moscow", "Kazan", "Perm", "Omsk", "Istanbul", "Ankara",
    "Izmir", "Baku", "Ganja", "Tehran", "Tabriz", "Cairo", "Alexandria", "Hanoi", "Saigon", "Dushanbe",
    "Tashkent", "Samarkand", "Ashgabat", "Riyadh", "Manama", "Havana", "Urumqi", "Beijing", "Vitebsk",
    "Brest", "Zhanaozen", "Aktau", "Shymkent", "Khabarovsk", "Novosibirsk", "Vladimir", "Tula",
]  # fmt: skip

ORGANIZATION_KINDS = {
    "court": 40, "prison": 25, "ngo": 10, "media": 10, "government": 7, "party": 5, "international_body": 3,
}  # fmt: skip
ORGANIZATION_NAMES = {
    "court": ["{city} City Court", "{city} Regional Court", "Appeals Court of {city}", "{city} District Court No. {n}"],
    "prison": ["Penal Colony No. {n} near {city}", "{city} Pre-trial Detention Centre No. {n}", "{city} Prison {n}"],
    "ngo": ["{city} Human Rights Centre", "Committee for the Release of Prisoners ({city})", "Free {city} Watch"],
    "media": ["{city} Daily", "Radio {city}", "{city} Independent News", "The {city} Observer"],
    "government": ["Ministry of Justice (office {n})", "Prosecutor's Office of {city}", "Governor of {city}"],
    "party": ["{city} Democratic Choice", "People's Alliance of {city}", "{city} Freedom Party"],
    "international_body": ["UN Working Group on Arbitrary Detention ({n})", "Council of Europe Committee {n}"],
}

CASE_STATUSES = {
    "open": 5, "pretrial": 10, "trial": 15, "convicted": 15, "appeal": 10, "imprisoned": 30, "released": 10,
    "closed": 5,
}  # fmt: skip

STATUTES = [f"Criminal Code art. {n}" for n in (164, 174, 179, 205, 207, 212, 275, 280, 282, 318, 319, 361)] + [
    f"Art. {n} (extremism)" for n in (280, 282, 361)
]
CHARGE_DESCRIPTIONS = [
    "Inciting social discord", "Calling for the overthrow of the constitutional order", "Organising mass unrest",
    "Participation in an extremist organisation", "Spreading false information", "Insulting a public official",
    "Violence against a police officer", "Financing extremism", "Illegal assembly", "Tax evasion",
    "Treason", "Hooliganism", "Fraud on a large scale", "Insulting the President", "Espionage",
]  # fmt: skip
CHARGE_STATUSES = {"pending": 30, "convicted": 55, "acquitted": 5, "dropped": 10}

HEARING_KINDS = {
    "arraignment": 5, "pretrial": 25, "trial": 35, "verdict": 5, "sentencing": 5, "appeal": 15, "parole": 7,
    "other": 3,
}  # fmt: skip
OUTCOME_KINDS = {
    "convicted": 15, "acquitted": 2, "sentenced": 15, "sentence_upheld": 15, "sentence_reduced": 5,
    "appeal_rejected": 20, "parole_granted": 4, "parole_denied": 12, "released": 5, "pardoned": 2,
    "charges_dropped": 2, "other": 3,
}  # fmt: skip

EVENT_KINDS = {
    "arrest": 3, "detention_change": 12, "transfer": 5, "visit": 15, "statement": 12, "reaction": 12,
    "protest": 8, "incident": 8, "filing": 15, "other": 10,
}  # fmt: skip
EVENT_TITLES = {
    "arrest": ["Arrested in {city}", "Detained at a protest in {city}", "Taken from home by police in {city}"],
    "detention_change": [
        "Moved to a stricter regime", "Placed in solitary confinement", "Sent to a punishment cell",
        "Denied parcels and calls", "Regime relaxed after complaints",
    ],
    "transfer": ["Transferred to a colony near {city}", "Moved to the prison hospital", "Transferred to {city}"],
    "visit": ["Family visit refused", "Lawyer denied access", "Wife allowed a short visit", "Consul visits"],
    "statement": ["Statement from the dock", "Letter from prison", "Final word at trial", "Open letter published"],
    "reaction": [
        "Rights groups call for release", "European Parliament resolution", "UN experts express concern",
        "Embassy statement on the case",
    ],
    "protest": ["Picket in support in {city}", "Solidarity rally in {city}", "Hunger strike in solidarity"],
    "incident": ["Health deteriorates in custody", "Hunger strike begins", "Beaten by guards, lawyer says"],
    "filing": ["Complaint filed with the court", "Appeal lodged", "Parole application filed", "Petition to the UN"],
    "other": ["Case file sent to court", "Investigation extended", "Charges amended", "Trial date set"],
}  # fmt: skip

SUBJECTS = [
    "The defendant", "His lawyer", "Her lawyer", "The prosecutor", "The court", "His wife", "Her husband",
    "The prison administration", "Observers", "Journalists", "Relatives", "The investigator", "Supporters",
    "The judge", "Witnesses", "The ombudsman", "Diplomats", "Cellmates", "Doctors", "The defence",
]  # fmt: skip
VERBS = [
    "said that", "complained that", "told reporters that", "wrote that", "insisted that", "denied that",
    "confirmed that", "argued that", "reported that", "learned that", "feared that", "noted that",
]  # fmt: skip
CLAUSES = [
    "the hearing was closed to the public", "the evidence had been fabricated", "the verdict was political",
    "visits had been refused for months", "the detention regime had been made stricter",
    "the parole application was rejected", "the charges were unfounded", "his health was getting worse",
    "letters were not delivered", "the appeal would be filed within ten days", "the trial was postponed again",
    "no journalists were admitted", "the sentence was upheld on appeal", "the case was sent back for review",
    "pressure on the family continued", "the transfer took place without notice", "the lawyer was searched",
    "the judge refused to hear the witnesses", "the prosecutor asked for a longer term",
    "the prisoner was held in solitary confinement", "a complaint was sent to the UN",
    "the court ignored the medical reports", "the protest ended peacefully", "several activists were detained",
]  # fmt: skip
QUOTES = [
    "I have not committed any crimes.", "I did not call for unrest and warned against any violence.",
    "My imprisonment continues because of my views.", "We will appeal to every court there is.",
    "I am not afraid, and I ask my friends not to be afraid.", "Freedom of speech is not a crime.",
    "They can keep me here, but they cannot make me lie.", "I thank everyone who writes to me.",
]  # fmt: skip
PUBLISHERS = [
    "Eurasianet", "Radio Liberty", "OVD-Info", "Viasna", "Memorial", "Amnesty International", "Human Rights Watch",
    "Reuters", "AP", "BBC Russian", "Meduza", "Novaya Gazeta", "Kloop", "Vlast.kz", "Facebook", "Telegram",
    "Court records", "Defence lawyer", "Family statement", "Front Line Defenders", "CECC", "Bianet",
]  # fmt: skip
HEADLINES = [
    "{name} refused parole", "Court extends detention of {name}", "{name} sentenced", "Appeal of {name} rejected",
    "Wife of {name} denied visit", "Rights groups demand release of {name}", "{name} moved to stricter regime",
    "Trial of {name} opens behind closed doors", "{name} on hunger strike", "Letter from {name}",
]  # fmt: skip
