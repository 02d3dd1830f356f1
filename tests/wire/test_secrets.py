"""Probe secrets sealed at rest: round trip, rotation, refusals that quote nothing."""

import pytest

from wire.secrets import PREFIX, Keyring, is_sealed, rotate, seal, unseal

OLD = "old-probe-secrets-key-" + "o" * 20
NEW = "new-probe-secrets-key-" + "n" * 20


def test_a_sealed_value_opens_to_its_plaintext_and_shows_none_of_it():
    keyring = Keyring.from_text(OLD)
    sealed = seal(keyring, "Bearer s3cr3t-token")
    assert sealed.startswith(PREFIX) and is_sealed(sealed)
    assert "s3cr3t" not in sealed
    assert unseal(keyring, sealed) == "Bearer s3cr3t-token"
    assert seal(keyring, "x") != seal(keyring, "x")  # a fresh IV each time


def test_after_rotation_old_values_open_and_new_ones_are_sealed_by_the_new_key():
    before = seal(Keyring.from_text(OLD), "api-key-1")
    rotated = Keyring.from_text(f"{NEW}, {OLD}")
    assert unseal(rotated, before) == "api-key-1"
    after = seal(rotated, "api-key-2")
    assert unseal(Keyring.from_text(NEW), after) == "api-key-2"
    with pytest.raises(ValueError, match="cannot be unsealed"):
        unseal(Keyring.from_text(OLD), after)
    assert unseal(Keyring.from_text(NEW), rotate(rotated, before)) == "api-key-1"


@pytest.mark.parametrize("damage", [
    lambda text: text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB"),
    lambda text: text[:20] + ("x" if text[20] != "x" else "y") + text[21:],
    lambda text: text[:-10],
])
def test_tampered_text_is_refused(damage):
    keyring = Keyring.from_text(OLD)
    sealed = seal(keyring, "hunter2")
    with pytest.raises(ValueError) as error:
        unseal(keyring, damage(sealed))
    assert "hunter2" not in str(error.value) and sealed not in str(error.value)


def test_another_key_and_plain_text_are_refused_without_quoting_them():
    sealed = seal(Keyring.from_text(OLD), "hunter2")
    with pytest.raises(ValueError, match="sealed with a key not in PROBE_SECRETS_KEY"):
        unseal(Keyring.from_text(NEW), sealed)
    with pytest.raises(ValueError, match=r"must start with enc:v1:") as error:
        unseal(Keyring.from_text(OLD), "hunter2")
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize(("text", "message"), [
    ("", "names no key"), (" , ", "names no key"),
    ("short", "key 1 must be at least 32"), (f"{OLD},short", "key 2 must be at least 32"),
])
def test_a_bad_keyring_says_which_key_without_quoting_it(text, message):
    with pytest.raises(ValueError, match=message) as error:
        Keyring.from_text(text)
    assert "short" not in str(error.value)
    assert OLD not in repr(Keyring.from_text(OLD))
