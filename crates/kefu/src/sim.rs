//! `kefu sim`: simulate a day of a contact center against the real ACD router and print its
//! KPIs — one queue from flags, or a whole center from a YAML scenario. Runs synchronously;
//! needs no settings or database.

use clap::Args;
use kefu_sim::{Center, ScenarioError, SimOptions, SingleQueue, Summary};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `kefu sim`.
#[derive(Args, Debug)]
#[command(
    allow_negative_numbers = true,
    after_help = "\
Rates (abandon_rate, service_level, occupancy) are fractions 0–1 in --json and percentages \
in the table; a figure with no data is null / '-'. Service level = answered within T ÷ \
(answered + abandoned after T); abandons under 5 s are left out of abandon rate and service \
level. The flag form is one queue of identical agents on shift for the whole day with \
Poisson arrivals, exponential handle times and no after-call work by default, so its \
figures can be checked against Erlang C (or Erlang A with --patience-secs)."
)]
pub struct SimArgs {
    /// A whole center described in YAML (skills, queues, agent groups with shifts, call
    /// types); replaces the single-queue flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["agents", "calls_per_hour", "aht_secs", "patience_secs", "hours", "acw_secs", "ring_delay_secs"])]
    scenario: Option<PathBuf>,
    /// Agents on the single queue, on shift for the whole day.
    #[arg(long, value_name = "N", required_unless_present = "scenario")]
    agents: Option<u32>,
    /// Poisson arrival rate of the single queue.
    #[arg(long, value_name = "R", required_unless_present = "scenario")]
    calls_per_hour: Option<f64>,
    /// Mean (exponential) handle time in seconds.
    #[arg(long, value_name = "S", required_unless_present = "scenario")]
    aht_secs: Option<f64>,
    /// Mean (exponential) caller patience in seconds; without it callers never hang up.
    #[arg(long, value_name = "P")]
    patience_secs: Option<f64>,
    /// Hours of arrivals (agents leave at the end, after their current call).
    #[arg(long, value_name = "H", default_value_t = 8.0)]
    hours: f64,
    /// After-call work in seconds (0 by default so the queue matches Erlang C).
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    acw_secs: f64,
    /// Seconds an agent's phone rings before they answer.
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    ring_delay_secs: f64,
    /// Seed of the random draws; the same seed gives the same output, byte for byte.
    #[arg(long, value_name = "X", default_value_t = 1)]
    seed: u64,
    /// Service-level threshold T in seconds.
    #[arg(long, value_name = "T", default_value_t = 20.0)]
    sl_threshold_secs: f64,
    /// Length of the report's intervals in minutes.
    #[arg(long, value_name = "M", default_value_t = 30)]
    interval_mins: u32,
    /// Print JSON: { offered, answered, abandoned, abandon_rate, service_level, asa_secs,
    /// aht_secs, occupancy, intervals: [...], queues: [...], ... }.
    #[arg(long)]
    json: bool,
}

/// Prints every problem with the flags or the scenario; exit code 2.
fn problems(list: Vec<String>) -> ExitCode {
    if !list.is_empty() {
        eprintln!("kefu sim: {} problem(s):", list.len());
        for p in &list {
            eprintln!("  - {p}");
        }
    }
    ExitCode::from(2)
}

/// Runs `kefu sim`: exit code 0, 2 for bad flags or scenario (every problem printed), 1 if
/// the run failed.
pub fn run(args: SimArgs) -> ExitCode {
    let mut flag_problems = Vec::new();
    if !(args.sl_threshold_secs.is_finite() && args.sl_threshold_secs >= 0.0) {
        flag_problems.push(format!("--sl-threshold-secs: must not be negative, got {}", args.sl_threshold_secs));
    }
    if args.interval_mins == 0 {
        flag_problems.push("--interval-mins: must be at least 1".to_owned());
    }
    let center = match &args.scenario {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Center::from_yaml(&text),
            Err(e) => {
                eprintln!("kefu sim: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => Center::single_queue(&SingleQueue {
            agents: args.agents.unwrap_or_default(),
            calls_per_hour: args.calls_per_hour.unwrap_or_default(),
            aht_secs: args.aht_secs.unwrap_or_default(),
            patience_secs: args.patience_secs,
            hours: args.hours,
            acw_secs: args.acw_secs,
            ring_delay_secs: args.ring_delay_secs,
        }),
    };
    let center = match center {
        Ok(c) if flag_problems.is_empty() => c,
        Ok(_) => return problems(flag_problems),
        Err(ScenarioError::Invalid(found)) => {
            flag_problems.extend(found.iter().map(ToString::to_string));
            return problems(flag_problems);
        }
        Err(e) => {
            eprintln!("kefu sim: {e}");
            return problems(flag_problems);
        }
    };
    let options = SimOptions {
        seed: args.seed,
        interval_ms: i64::from(args.interval_mins) * 60_000,
        sl_threshold_ms: (args.sl_threshold_secs * 1000.0).round() as i64,
    };
    match kefu_sim::run(&center, &options) {
        Ok(outcome) => {
            let summary = Summary::new(&center, &options, &outcome);
            let text = if args.json { summary.to_json() + "\n" } else { summary.to_text(&outcome.tally) };
            // a closed pipe (`kefu sim | head`) is not an error worth a panic
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kefu sim: {e}");
            ExitCode::FAILURE
        }
    }
}
