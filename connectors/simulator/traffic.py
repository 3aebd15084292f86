"""Deterministic customer traffic: who writes, and what, in German and English.

Everyday problems dominate, as in a real support inbox; a few people are in real distress,
because the inbox has to make those stand out. Same seed, same people, same words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_NAMES = {
    "de": ["Anna", "Jonas", "Leonie", "Lukas", "Marie", "Felix", "Sophie", "Thomas", "Elif",
           "Mehmet", "Katrin", "Jürgen"],
    "en": ["Emma", "Oliver", "Ava", "Noah", "Grace", "Liam", "Priya", "James", "Chloe", "Daniel",
           "Margaret", "Tom"],
}
LAST_NAMES = {
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Yilmaz",
           "Wagner", "Krüger"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Wilson", "Evans", "Walker",
           "O'Brien"],
}
USERNAME_SAFE = str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "ß": "ss", "'": ""})

PROBLEMS = {
    "en": [
        "my order {order} still hasn't arrived, it's been {days} days",
        "the app logs me out every few minutes since the last update",
        "I was charged twice for my subscription this month, can someone look into it?",
        "my printer only prints blank pages, already reinstalled the driver",
        "where do I change my delivery address? can't find it anywhere",
        "refund for order {order} still not on my card after {days} days",
        "your chat bot keeps sending me in circles, I just need a human",
        "the router you sent me drops the connection every evening around 8",
        "got the wrong size in order {order}, how do I swap it?",
    ],
    "de": [
        "meine Bestellung {order} ist nach {days} Tagen immer noch nicht da",
        "die App stürzt seit dem letzten Update ständig ab",
        "mir wurde das Abo diesen Monat doppelt abgebucht, bitte prüfen",
        "mein Drucker druckt nur noch leere Seiten, Treiber schon neu installiert",
        "wie ändere ich meine Lieferadresse? finde das nirgends",
        "die Erstattung für Bestellung {order} ist nach {days} Tagen noch nicht da",
        "euer Chatbot schickt mich nur im Kreis, ich brauche einen Menschen",
        "der Router verliert jeden Abend gegen 20 Uhr die Verbindung",
        "falsche Größe geliefert (Bestellung {order}), wie kann ich umtauschen?",
    ],
}
URGENT = {
    "en": [
        "please help, my printer stopped working and I have to print the order of service for "
        "my dad's funeral tomorrow morning",
        "my insulin delivery was due today and tracking now says returned to sender. I have one "
        "pen left",
        "locked out of my account and the rent is due today. please, someone answer",
        "the internet has been down for 3 days and my mum's care alarm runs over it",
    ],
    "de": [
        "bitte helft mir, mein Drucker geht nicht und ich muss morgen früh die Trauerkarten für "
        "die Beerdigung meiner Mutter drucken",
        "das Paket mit den Medikamenten für meinen Vater ist verschwunden, er braucht sie bis "
        "morgen",
        "seit drei Tagen kein Internet, dabei läuft der Hausnotruf meiner Oma darüber",
        "ich komme nicht mehr in mein Konto und die Miete muss heute raus, bitte meldet euch",
    ],
}
FOLLOWUPS = {
    "en": ["any update?", "still waiting, this is getting really frustrating",
           "tried that, didn't help", "order number is {order}", "thanks, I've sent you a DM",
           "hello? is anyone there?"],
    "de": ["gibt es schon Neuigkeiten?", "warte immer noch, langsam nervt es wirklich",
           "hab ich probiert, hilft nicht", "Bestellnummer ist {order}",
           "danke, hab euch eine DM geschrieben", "hallo? liest das jemand?"],
}
DMS = {
    "en": ["Hi, following up on my tweet. Order {order}, postcode {postcode}.",
           "Hello, I'd rather not post this publicly: my account email is {email}.",
           "Is there a number I can call? It's about order {order}.",
           "Thanks for the quick answer earlier, it works again!"],
    "de": ["Hallo, wegen meines Tweets: Bestellung {order}, PLZ {postcode}.",
           "Hi, das möchte ich nicht öffentlich schreiben: meine E-Mail ist {email}.",
           "Gibt es eine Telefonnummer? Es geht um Bestellung {order}.",
           "Danke für die schnelle Hilfe vorhin, jetzt klappt alles!"],
}

# Facebook: what a Page posts, what people write to it in Messenger, how its staff answer.
PAGE_POSTS = {
    "en": ["Our spring sale starts today: 20% off all printers until Sunday!",
           "Planned maintenance tonight from 1 to 3 am: the app may be unavailable.",
           "New in the shop: the X200 router, now with better Wi-Fi range.",
           "Tell us: what should our next how-to video be about?"],
    "de": ["Unser Frühjahrsangebot startet heute: 20 % auf alle Drucker bis Sonntag!",
           "Heute Nacht von 1 bis 3 Uhr Wartungsarbeiten: die App ist kurz nicht erreichbar.",
           "Neu im Shop: der Router X200, jetzt mit besserer WLAN-Reichweite.",
           "Sagt uns: worüber soll unser nächstes Anleitungsvideo sein?"],
}
MESSENGER = {
    "en": ["Hi, I commented on your post earlier. Order {order}, postcode {postcode}.",
           "Hello, I'd rather not write this in public: my account email is {email}.",
           "Is there a number I can call? It's about order {order}.",
           "Thanks for sorting it out so quickly, it works again!"],
    "de": ["Hallo, ich hatte unter eurem Beitrag kommentiert. Bestellung {order}, PLZ {postcode}.",
           "Hi, das möchte ich nicht öffentlich schreiben: meine E-Mail ist {email}.",
           "Gibt es eine Telefonnummer? Es geht um Bestellung {order}.",
           "Danke, dass ihr das so schnell gelöst habt, jetzt klappt alles!"],
}
PAGE_REPLIES = {
    "en": ["Hi {first}, sorry about that! Could you send us your order number in a private "
           "message?", "Thanks {first}, we're looking into it right now.",
           "Hi {first}, that should be fixed now. Could you try again?"],
    "de": ["Hallo {first}, das tut uns leid! Schickst du uns die Bestellnummer per "
           "Privatnachricht?", "Danke {first}, wir schauen uns das gleich an.",
           "Hallo {first}, das sollte jetzt behoben sein. Magst du es nochmal versuchen?"],
}


@dataclass(frozen=True, slots=True)
class Customer:
    user_id: str
    username: str
    name: str
    lang: str


class Traffic:
    """Draws customers and texts from one seeded random source."""

    def __init__(self, seed: int, urgent_share: float = 0.08) -> None:
        self.rng = random.Random(seed)
        self.urgent_share = urgent_share

    def customer(self) -> Customer:
        lang = self.rng.choice(["de", "en"])
        first = self.rng.choice(FIRST_NAMES[lang])
        last = self.rng.choice(LAST_NAMES[lang])
        username = f"{first}_{last}".lower().translate(USERNAME_SAFE) + str(self.rng.randrange(100))
        user_id = str(self.rng.randrange(10**8, 10**18))
        return Customer(user_id=user_id, username=username, name=f"{first} {last}", lang=lang)

    def opening(self, lang: str) -> str:
        """The first post of a new conversation."""
        pool = URGENT if self.rng.random() < self.urgent_share else PROBLEMS
        return self._fill(self.rng.choice(pool[lang]))

    def followup(self, lang: str) -> str:
        return self._fill(self.rng.choice(FOLLOWUPS[lang]))

    def dm(self, lang: str, username: str) -> str:
        return self._fill(self.rng.choice(DMS[lang]), username)

    def messenger(self, lang: str, username: str) -> str:
        return self._fill(self.rng.choice(MESSENGER[lang]), username)

    def page_post(self, lang: str) -> str:
        return self.rng.choice(PAGE_POSTS[lang])

    def page_reply(self, lang: str, first_name: str) -> str:
        return self.rng.choice(PAGE_REPLIES[lang]).format(first=first_name)

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def pick(self, count: int) -> int:
        return self.rng.randrange(count)

    def _fill(self, template: str, username: str = "me") -> str:
        return template.format(
            order=f"{self.rng.randrange(10**7, 10**8)}",
            days=self.rng.randrange(3, 21),
            postcode=f"{self.rng.randrange(10000, 99999)}",
            email=f"{username}@example.org",
        )
