"""The purposes a mail may serve; the policy gives each marketing purpose a regime."""

from enum import StrEnum


class Purpose(StrEnum):
    PRODUCT_UPDATES = "product_updates"
    SPECIAL_OFFERS = "special_offers"
    SUPPORT_NOTICES = "support_notices"
    NEW_PRODUCTS = "new_products"
    NEWSLETTER = "newsletter"
    TRANSACTIONAL = "transactional"


MARKETING_PURPOSES: tuple[Purpose, ...] = tuple(p for p in Purpose if p is not Purpose.TRANSACTIONAL)
