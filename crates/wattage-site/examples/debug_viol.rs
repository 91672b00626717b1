//! Development aid: prints the steps at which ramp violations occur.
fn main() {
    let path = std::env::args().nth(1).expect("scenario path");
    let text = std::fs::read_to_string(&path).expect("read");
    let sc = wattage_site::parse_scenario(&text).expect("parse");
    let o = wattage_site::RunOptions::from_scenario(&sc);
    let mut s = wattage_site::Simulator::new(&sc, &o).expect("sim");
    let mut last = 0;
    let mut shown = 0;
    while !s.run_steps(1) && shown < 20 {
        let v = s.kpis_so_far().ramp_violations;
        if v != last {
            last = v;
            shown += 1;
            eprintln!(
                "step {} violations {} trips {} starts {}",
                s.steps_done(),
                v,
                s.kpis_so_far().turbine_trips,
                s.kpis_so_far().turbine_starts
            );
        }
    }
}
