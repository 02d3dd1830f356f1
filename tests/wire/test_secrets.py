"""Probe secrets sealed at rest: round trip, rotation, refusals that quote nothing."""

import pytest

from wire.secrets import PREFIX, Keyring, is_sealed, rotate, seal, unseal

OLD = "old-probe-secrets-key-" + "o" * 20
NEW = "new-probe-secrets-key-" + "n" * 20
T = "https://api.bank.test/health"  # the target a value is sealed for


def test_a_sealed_value_opens_to_its_plaintext_and_shows_none_of_it():
    keyring = Keyring.from_text(OLD)
    sealed = seal(keyring, "Bearer s3cr3t-token", bound_to=T)
    assert sealed.startswith(PREFIX) and is_sealed(sealed)
    assert "s3cr3t" not in sealed
    assert unseal(keyring, sealed, bound_to=T) == "Bearer s3cr3t-token"
    assert seal(keyring, "x", bound_to=T) != seal(keyring, "x", bound_to=T)  # a fresh IV



def test_after_rotation_old_values_open_and_new_ones_are_sealed_by_the_new_key():
    before = seal(Keyring.from_text(OLD), "api-key-1", bound_to=T)
    rotated = Keyring.from_text(f"{NEW}, {OLD}")
    assert unseal(rotated, before, bound_to=T) == "api-key-1"
    after = seal(rotated, "api-key-2", bound_to=T)
    assert unseal(Keyring.from_text(NEW), after, bound_to=T) == "api-key-2"
    with pytest.raises(ValueError, match="cannot be unsealed"):
        unseal(Keyring.from_text(OLD), after, bound_to=T)
    assert unseal(Keyring.from_text(NEW), rotate(rotated, before), bound_to=T) == "api-key-1"


@pytest.mark.parametrize("damage", [
    lambda text: text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB"),
    lambda text: text[:20] + ("x" if text[20] != "x" else "y") + text[21:],
    lambda text: text[:-10],
])
def test_tampered_text_is_refused(damage):
    keyring = Keyring.from_text(OLD)
    sealed = seal(keyring, "hunter2", bound_to=T)
    with pytest.raises(ValueError) as error:
        unseal(keyring, damage(sealed), bound_to=T)
    assert "hunter2" not in str(error.value) and sealed not in str(error.value)


def test_another_key_and_plain_text_are_refused_without_quoting_them():
    sealed = seal(Keyring.from_text(OLD), "hunter2", bound_to=T)
    with pytest.raises(ValueError, match="sealed with a key not in PROBE_SECRETS_KEY"):
        unseal(Keyring.from_text(NEW), sealed, bound_to=T)
    with pytest.raises(ValueError, match=r"must start with enc:v1:") as error:
        unseal(Keyring.from_text(OLD), "hunter2", bound_to=T)
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


def test_a_value_opens_only_for_the_target_it_was_sealed_for():
    keyring = Keyring.from_text(OLD)
    sealed = seal(keyring, "tok\nwith a newline", bound_to=T)
    assert unseal(keyring, sealed, bound_to=f" {T} ") == "tok\nwith a newline"
    for other in ("https://attacker.example/", T + "x", "https://api.bank.test/"):
        with pytest.raises(ValueError, match=r"^was sealed for another target$"):
            unseal(keyring, sealed, bound_to=other)
