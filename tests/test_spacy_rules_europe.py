"""The default pipeline's rule entities on a European marketplace's messages: amounts
written before their currency ("50 €", "1.234,56€", "20 TL"), other currencies, and
e-mail addresses with accented domains (docs/authoring.md)."""

from types import SimpleNamespace as Row

import pytest

from labeling import ABSTAIN, entity_lf


@pytest.mark.parametrize("text", ["nur 50 € heute", "nur 50€", "1.234,56 € bar",
                                  "20 TL gönder", "100₺", "500 ₽", "CHF 40", "€50", "$ 20"])
def test_money_before_or_after_the_amount(text):
    assert entity_lf("money", ["MONEY"], label=1)(Row(text=text)) == 1


@pytest.mark.parametrize("text", ["make $$$ fast", "50% off", "Euro 2024", "20 tl"])
def test_money_needs_an_amount_and_a_currency(text):
    assert entity_lf("money", ["MONEY"], label=1)(Row(text=text)) == ABSTAIN


@pytest.mark.parametrize("text, fires", [("schreib an max@müller.de", True),
                                         ("écrivez à josé@correo.es", True),
                                         ("a.b+c@gmail.com", True), ("x@y", False)])
def test_email_with_accented_local_part_or_domain(text, fires):
    assert entity_lf("email", ["EMAIL"], label=1)(Row(text=text)) == (1 if fires else ABSTAIN)
