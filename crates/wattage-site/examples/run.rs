//! Runs a scenario file and prints its KPIs as JSON (a development aid; the CLI is `wattage`).
fn main() {
    let path = std::env::args().nth(1).expect("scenario path");
    let dur: Option<f64> = std::env::args().nth(2).map(|s| s.parse().expect("hours"));
    let text = std::fs::read_to_string(&path).expect("read");
    let mut sc = wattage_site::parse_scenario(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    if std::env::var_os("NO_BATTERY").is_some() {
        sc.batteries.clear();
    }
    let mut o = wattage_site::RunOptions::from_scenario(&sc);
    if let Some(h) = dur {
        o.duration = wattage_units::Time::from_h(h);
    }
    let t = std::time::Instant::now();
    let r = wattage_site::simulate(&sc, &o).expect("run");
    let mut k = r.kpis;
    k.interruption_list.truncate(5);
    println!("{}", serde_json::to_string_pretty(&k).expect("json"));
    eprintln!("elapsed {:?}", t.elapsed());
}
