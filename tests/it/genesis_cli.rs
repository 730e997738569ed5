//! `genesis new | validate | hash` as an operator runs them.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tests::binary;

fn genesis(args: &[&str], dir: &Path) -> Output {
    Command::new(binary("genesis")).args(args).current_dir(dir).output().expect("run genesis")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn edit(dir: &Path, name: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut g: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/genesis.json")).unwrap()).unwrap();
    f(&mut g);
    std::fs::write(dir.join(name), serde_json::to_string(&g).unwrap()).unwrap();
    name.to_owned()
}

#[test]
fn new_writes_genesis_and_keys_that_validate() {
    let dir = tempfile::tempdir().unwrap();
    let o = genesis(&["new", "--validators", "4", "--out", "out"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    for v in 0..4 {
        for f in ["consensus_key.json", "network_key.json"] {
            assert!(dir.path().join(format!("out/validators/v{v}.acme/{f}")).is_file());
        }
    }
    let cred: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/accounts/alice.acme.json")).unwrap())
            .unwrap();
    assert_eq!(cred["account_id"], "alice.acme");
    assert!(cred["public_key"].as_str().unwrap().starts_with("ed25519:"));
    assert!(cred["secret_key"].as_str().unwrap().starts_with("ed25519:"));
    let o = genesis(&["validate", "out/genesis.json"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let o = genesis(&["new", "--validators", "2", "--out", "out"], dir.path());
    assert!(!o.status.success() && text(&o).contains("already exists"), "never overwrites: {}", text(&o));
    let o = genesis(&["new", "--validators", "3", "--preset", "professional", "--out", "pro"], dir.path());
    assert!(!o.status.success() && text(&o).contains("at least 4"), "{}", text(&o));
}

#[test]
fn hash_ignores_layout_and_sees_every_value() {
    let dir = tempfile::tempdir().unwrap();
    assert!(genesis(&["new", "--out", "out"], dir.path()).status.success());
    let hash = |file: &str| {
        let o = genesis(&["hash", file], dir.path());
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    let base = hash("out/genesis.json");
    assert!(base.len() >= 43, "base58 of 32 bytes: {base}");
    // Same content, keys in reverse order and no whitespace.
    let text_in = std::fs::read_to_string(dir.path().join("out/genesis.json")).unwrap();
    let v: Value = serde_json::from_str(&text_in).unwrap();
    fn reverse(v: &Value) -> String {
        match v {
            Value::Object(m) => format!(
                "{{{}}}",
                m.iter()
                    .rev()
                    .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reverse(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Value::Array(a) => format!("[{}]", a.iter().map(reverse).collect::<Vec<_>>().join(",")),
            s => s.to_string(),
        }
    }
    std::fs::write(dir.path().join("reordered.json"), reverse(&v)).unwrap();
    assert_eq!(hash("reordered.json"), base);
    let changed = edit(dir.path(), "changed.json", |g| g["epoch_length"] = Value::from(101));
    assert_ne!(hash(&changed), base);
    let changed = edit(dir.path(), "changed2.json", |g| {
        g["accounts"][1]["balance"] = Value::from("999999999999999999999999999998")
    });
    let o = genesis(&["hash", &changed], dir.path());
    assert!(!o.status.success(), "a balance change breaks the supply sum, so it is refused: {}", text(&o));
}

#[test]
fn validate_names_the_field_of_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    assert!(genesis(&["new", "--validators", "2", "--out", "out"], dir.path()).status.success());
    type Case = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "dup-validator",
            Box::new(|g| g["validators"][1]["account_id"] = g["validators"][0]["account_id"].clone()),
            "validators[1].account_id",
        ),
        (
            "dup-key",
            Box::new(|g| g["validators"][1]["consensus_key"] = g["validators"][0]["consensus_key"].clone()),
            "validators[1].consensus_key",
        ),
        ("bad-id", Box::new(|g| g["validators"][0]["account_id"] = Value::from("Bad..Id")), "validators[0].account_id"),
        ("k-too-big", Box::new(|g| g["treasury"]["confirmations"] = Value::from(4)), "treasury.confirmations"),
        ("k-zero", Box::new(|g| g["treasury"]["confirmations"] = Value::from(0)), "treasury.confirmations"),
        ("stake", Box::new(|g| g["total_stake"] = Value::from("2000000000000000000000000000000000")), "total_stake"),
        ("org", Box::new(|g| g["validators"][0]["organization"] = Value::from("nope")), "validators[0].organization"),
        ("peer", Box::new(|g| g["validators"][0]["peer_id"] = Value::from("not-a-peer")), "validators[0].peer_id"),
        ("addr", Box::new(|g| g["validators"][0]["address"] = Value::from("localhost:1")), "validators[0].address"),
        ("unknown-field", Box::new(|g| g["surprise"] = Value::from(1)), "surprise"),
    ];
    for (name, f, field) in cases {
        let file = edit(dir.path(), &format!("{name}.json"), f);
        let o = genesis(&["validate", &file], dir.path());
        assert!(!o.status.success(), "{name} must be refused");
        assert!(text(&o).contains(field), "{name}: error must name {field}: {}", text(&o));
    }
    // Several problems at once are all listed.
    let file = edit(dir.path(), "many.json", |g| {
        g["treasury"]["confirmations"] = Value::from(0);
        g["validators"][0]["organization"] = Value::from("nope");
    });
    let out = text(&genesis(&["validate", &file], dir.path()));
    assert!(out.contains("treasury.confirmations") && out.contains("validators[0].organization"), "{out}");
}
