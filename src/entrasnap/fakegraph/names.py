"""Name pools for generated tenants: ordinary, accented and non-Latin, very long and duplicated."""

from __future__ import annotations

import random
import unicodedata

GIVEN = [
    "Adele",
    "Alex",
    "Allan",
    "Ana",
    "Ben",
    "Chen",
    "Christie",
    "Debra",
    "Diego",
    "Emily",
    "Enrico",
    "Grady",
    "Henrietta",
    "Irvin",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Priya",
    "Raul",
    "Sofia",
    "Tomás",
    "Zoë",
    "Åsa",
    "Jürgen",
    "François",
    "Łukasz",
    "Søren",
    "Chloé",
    "Иван",
    "Мария",
    "陈",
    "李",
    "Ανδρέας",
    "محمد",
    "Aiyana",
    "Kwame",
    "Ngozi",
    "Yuki",
    "Hiroshi",
    "Saanvi",
    "Oluwaseun",
    "Mateo",
]
SURNAMES = [
    "Vance",
    "Wilber",
    "Deyoung",
    "Smith",
    "Lee",
    "Brown",
    "Garcia",
    "Müller",
    "Sánchez",
    "Nguyen",
    "Kowalski",
    "O'Brien",
    "Østergaard",
    "Dubois",
    "Rossi",
    "Tanaka",
    "Sato",
    "Kim",
    "Patel",
    "Singh",
    "Иванова",
    "王",
    "Παπαδόπουλος",
    "Haddad",
    "Okafor",
    "Mensah",
    "da Silva",
    "van der Berg",
    "Zhang",
    "Johansson",
    "Fernández",
    "Nakamura",
    "Adeyemi",
    "Murphy",
    "Schmidt",
]
DEPARTMENTS = [
    "Sales",
    "Marketing",
    "Finance",
    "Engineering",
    "IT",
    "HR",
    "Legal",
    "Operations",
    "Research",
    "Support",
    "Executive",
    "Retail",
    "Manufacturing",
    "Procurement",
]
JOB_TITLES = [
    "Analyst",
    "Engineer",
    "Manager",
    "Director",
    "Consultant",
    "Administrator",
    "Designer",
    "Developer",
    "Accountant",
    "Specialist",
    "Coordinator",
    "Architect",
    "VP",
    "Intern",
]
CITIES = [
    ("Redmond", "WA", "United States", "US"),
    ("London", None, "United Kingdom", "GB"),
    ("Paris", None, "France", "FR"),
    ("München", "BY", "Germany", "DE"),
    ("Tokyo", None, "Japan", "JP"),
    ("São Paulo", "SP", "Brazil", "BR"),
    ("Bengaluru", "KA", "India", "IN"),
    ("Sydney", "NSW", "Australia", "AU"),
    ("Lagos", None, "Nigeria", "NG"),
    ("Oslo", None, "Norway", "NO"),
]
TEAM_WORDS = [
    "Finance",
    "Admins",
    "Sales",
    "Engineering",
    "Project",
    "Contoso",
    "Marketing",
    "Helpdesk",
    "Legal",
    "Security",
    "Break Glass",
    "All Staff",
    "Contractors",
    "Pilot",
    "Executives",
    "Developers",
    "Ops",
    "Travel",
    "Compliance",
    "Privileged",
    "Partners",
    "Interns",
    "Design",
    "Data",
    "Cloud",
]
APP_WORDS = [
    "Portal",
    "Sync",
    "Connector",
    "Reporting",
    "Payroll",
    "CRM",
    "Backup",
    "Gateway",
    "Analytics",
    "Inventory",
    "Scheduler",
    "Monitor",
    "Automation",
    "Provisioning",
    "Workflow",
    "Tickets",
]
LONG_SUFFIX = " — " + "Extremely long display name used to test truncation in reports and tables " * 3


def ascii_nickname(text: str) -> str:
    """A mail nickname from a display name: accents stripped, only letters and digits kept."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum()) or "user"


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(GIVEN), rng.choice(SURNAMES)


def team_name(rng: random.Random, index: int) -> str:
    """A group-like display name; some repeat on purpose, a few are very long."""
    roll = rng.random()
    if roll < 0.05:
        return "Finance Admins"  # duplicated display name
    words = rng.sample(TEAM_WORDS, 2)
    name = f"{words[0]} {words[1]} {index}"
    if roll > 0.98:
        name += LONG_SUFFIX
    return name
