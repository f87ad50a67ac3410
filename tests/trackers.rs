//! `pixelscope trackers`: the decoder catalog as a table and as JSON.

use crate::util::{pixelscope, sample};

#[test]
fn the_table_lists_every_decoder_in_aligned_columns() {
    let json = pixelscope()
        .args(["trackers", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert!(list.len() >= 40, "{} decoders", list.len());
    let table = pixelscope().arg("trackers").output().unwrap();
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.len(),
        list.len() + 1,
        "a header and a row per decoder"
    );
    // Every row's vendor starts under VENDOR, however long the ids are.
    let vendor_column = lines[0].find("VENDOR").unwrap();
    for (line, decoder) in lines[1..].iter().zip(&list) {
        let id = decoder["id"].as_str().unwrap();
        let vendor = decoder["vendor"].as_str().unwrap();
        assert!(line.starts_with(id), "{line}");
        assert_eq!(
            line.get(vendor_column..)
                .map(|rest| rest.starts_with(vendor)),
            Some(true),
            "{line}"
        );
    }
}

/// `pixelscope trackers` with the sample user catalog, `from` replaced by
/// `to` in it.
fn trackers_with_catalog(from: &str, to: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    let acme = std::fs::read_to_string(sample("decoders/user/acme-pixel.toml")).unwrap();
    assert!(acme.contains(from), "the sample catalog has {from}");
    std::fs::write(&catalog, acme.replace(from, to)).unwrap();
    let mut cmd = pixelscope();
    cmd.arg("trackers").arg("--decoders").arg(&catalog);
    cmd.output().unwrap()
}

#[test]
fn a_catalog_decoder_cannot_put_control_characters_on_the_terminal() {
    let out = trackers_with_catalog(
        r#"vendor = "Acme""#,
        r#"vendor = "Acme\u001b]0;pwned\u0007""#,
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success() && table.contains("acme-pixel"),
        "{table}"
    );
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
}

#[test]
fn a_broken_catalog_is_reported_without_its_control_characters() {
    let out = trackers_with_catalog(r#"id = "acme-pixel""#, r#"id = "acme\u001b[31m-pixel""#);
    assert_eq!(out.status.code(), Some(2), "a bad catalog is a usage error");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("tracker id"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
