//! A ring of 512 processes passing a token through pipes (the bench's
//! lat-ctx-512) costs each hop within 1.5× of a ring of 2 (lat-ctx-2), counted in
//! instructions under icount (deterministic): a wake finds its one waiter among
//! the others of its list without rewriting them.

mod common;

use common::*;

fn figure(report: &serde_json::Value, row: &str) -> f64 {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == row))
        .and_then(|r| r["icount"]["timeshare"].as_f64())
        .unwrap_or_else(|| panic!("no icount figure for {row}\n{report:#}"))
}

#[test]
fn a_hop_in_a_ring_of_512_costs_within_one_and_a_half_of_a_ring_of_2() {
    let dir = scratch_dir("ring-scale");
    let json = dir.join("bench.json");
    let output = timeshare_with(&[
        "bench",
        "--no-linux",
        "--mode",
        "icount",
        "--iterations",
        "0.25",
        "--only",
        "lat-ctx-2",
        "--only",
        "lat-ctx-512",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_status(&output, 0);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file")).expect("valid JSON");
    let (small, large) = (figure(&report, "lat-ctx-2"), figure(&report, "lat-ctx-512"));
    assert!(large <= 1.5 * small, "lat-ctx-512 {large} instructions a hop, lat-ctx-2 {small}: {:.2}x", large / small);
}
