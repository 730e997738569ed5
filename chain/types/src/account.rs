//! Account ids: the near-account-id crate's validated type, plus the chain's id classes.

pub use near_account_id::{AccountId, AccountIdRef};

/// True for ids that NEAR treats as implicit accounts (64 lowercase hex chars, or `0x` + 40 hex).
/// Such accounts cannot be created by a transfer on this chain.
pub fn is_implicit(id: &AccountIdRef) -> bool {
    id.get_account_type().is_implicit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> bool {
        s.parse::<AccountId>().is_ok()
    }

    #[test]
    fn near_rules() {
        for ok in ["ab", "alice.test", "a-b_c.d", "0x1", &"a".repeat(64)] {
            assert!(parse(ok), "{ok} should be valid");
        }
        for bad in ["a", "", "Alice", "a..b", ".a", "a.", "a-", "_a", "a b", "a@b", &"a".repeat(65)] {
            assert!(!parse(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn implicit_and_top_level() {
        let hex64: AccountId = "a".repeat(64).parse().unwrap();
        assert!(is_implicit(&hex64));
        let eth: AccountId = format!("0x{}", "b".repeat(40)).parse().unwrap();
        assert!(is_implicit(&eth));
        let tla: AccountId = "acme".parse().unwrap();
        assert!(!is_implicit(&tla) && tla.is_top_level());
        let sub: AccountId = "pay.acme".parse().unwrap();
        assert!(!sub.is_top_level() && sub.is_sub_account_of(&tla));
    }

    proptest! {
        /// Anything built from valid segments joined by single separators parses, and its
        /// borsh encoding round-trips.
        #[test]
        fn valid_ids_round_trip(parts in proptest::collection::vec("[a-z0-9]{1,8}", 1..5),
                                seps in proptest::collection::vec("[-_.]", 4)) {
            let mut s = parts[0].clone();
            for (i, p) in parts.iter().enumerate().skip(1) {
                s.push_str(&seps[i - 1]);
                s.push_str(p);
            }
            prop_assume!(s.len() >= 2 && s.len() <= 64);
            let id: AccountId = s.parse().unwrap();
            let bytes = borsh::to_vec(&id).unwrap();
            prop_assert_eq!(borsh::from_slice::<AccountId>(&bytes).unwrap(), id);
        }

        /// Any string with an upper-case letter or a doubled separator is rejected, both
        /// from text and from borsh.
        #[test]
        fn invalid_ids_rejected(prefix in "[a-z]{1,10}", sep in "[-_.]", suffix in "[a-z]{1,10}") {
            let doubled = format!("{prefix}{sep}{sep}{suffix}");
            prop_assert!(!parse(&doubled));
            let bytes = borsh::to_vec(&doubled).unwrap();
            prop_assert!(borsh::from_slice::<AccountId>(&bytes).is_err());
            let upper = format!("{}{suffix}", prefix.to_uppercase());
            prop_assert!(!parse(&upper));
        }
    }
}
