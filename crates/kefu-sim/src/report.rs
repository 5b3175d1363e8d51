//! The results of a run as people and programs read them: a [`Summary`] (serialised as the
//! `kefu sim --json` document) and an aligned plain-text table. Rates are fractions 0–1 in
//! JSON and percentages in text; a figure with no data (e.g. ASA when nothing was answered)
//! is `null` in JSON and `-` in text.

use crate::engine::{Outcome, SimOptions, Tally};
use crate::scenario::Center;
use kefu_core::kpi::{Counts, IntervalCounts, Kpis};
use serde::Serialize;
use std::fmt::Write as _;

/// The KPIs of one interval (or of the day, or of a queue, in the text table).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Interval start as `HH:MM` from the start of the simulation (hours go past 24).
    pub start: String,
    /// Interval start in seconds from the start of the simulation.
    pub start_secs: i64,
    /// The figures, as `kefu_core::kpi` defines them.
    #[serde(flatten)]
    pub kpis: Kpis,
}

/// One queue's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueSummary {
    /// Queue name.
    pub name: String,
    /// The queue's KPIs, for the text table (occupancy is none: agents are shared).
    #[serde(skip)]
    pub kpis: Kpis,
    /// Calls offered (an overflowed call counts in both queues).
    pub offered: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls abandoned.
    pub abandoned: u64,
    /// Short abandons.
    pub short_abandoned: u64,
    /// Calls that left this queue by overflow (to another queue or out of the router).
    pub overflowed: u64,
    /// Overflow rules that widened this queue to other queues' agents.
    pub widened: u64,
    /// Calls still in this queue at the end.
    pub waiting_at_end: u64,
    /// Abandon rate, fraction 0–1.
    pub abandon_rate: Option<f64>,
    /// Service level, fraction 0–1.
    pub service_level: Option<f64>,
    /// ASA, seconds.
    pub asa_secs: Option<f64>,
    /// AHT, seconds.
    pub aht_secs: Option<f64>,
    /// Per interval.
    pub intervals: Vec<Row>,
}

/// The whole run: the `kefu sim --json` document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Calls that arrived (each once, whatever queues it passed through).
    pub offered: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls abandoned (short abandons included).
    pub abandoned: u64,
    /// Abandoned ÷ (answered + abandoned), short abandons excluded; fraction 0–1.
    pub abandon_rate: Option<f64>,
    /// Answered within T ÷ (answered + abandoned after T); fraction 0–1.
    pub service_level: Option<f64>,
    /// Average speed of answer, seconds (wait from the first queue entered).
    pub asa_secs: Option<f64>,
    /// Average handle time (talk + hold + ACW), seconds.
    pub aht_secs: Option<f64>,
    /// Agents' busy ÷ (busy + ready idle); fraction 0–1.
    pub occupancy: Option<f64>,
    /// Per interval, by the time calls entered (agent time by the clock).
    pub intervals: Vec<Row>,
    /// Abandons shorter than the short-abandon threshold.
    pub short_abandoned: u64,
    /// Calls that left the router by an overflow rule.
    pub overflowed: u64,
    /// Calls still queued when the simulation ended (see the engine's end-of-day rule).
    pub waiting_at_end: u64,
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Length of the day in hours.
    pub hours: f64,
    /// Agents in the scenario.
    pub agents: usize,
    /// Service-level threshold T in seconds.
    pub sl_threshold_secs: f64,
    /// Short-abandon threshold in seconds.
    pub short_abandon_secs: f64,
    /// Interval length in minutes.
    pub interval_mins: f64,
    /// Simulated time at which the run ended, seconds.
    pub end_secs: f64,
    /// Per queue, in the scenario's order.
    pub queues: Vec<QueueSummary>,
    /// The day's KPIs, for the text table (the JSON carries them in the fields above).
    #[serde(skip)]
    pub total: Kpis,
}

fn hhmm(start_ms: i64) -> String {
    let mins = start_ms.div_euclid(60_000);
    format!("{:02}:{:02}", mins.div_euclid(60), mins.rem_euclid(60))
}

fn row(i: &IntervalCounts) -> Row {
    Row {
        start: hhmm(i.start.as_millis()),
        start_secs: i.start.as_millis().div_euclid(1000),
        kpis: Kpis::from_counts(&i.counts),
    }
}

impl Summary {
    /// Builds the summary of `outcome`.
    pub fn new(center: &Center, options: &SimOptions, outcome: &Outcome) -> Summary {
        let total = Kpis::from_counts(&outcome.kpi.total);
        let queues = center
            .queues
            .iter()
            .map(|q| {
                let report = outcome.kpi.queues.iter().find(|r| r.queue == q.id);
                let c: Counts = report.map(|r| r.total).unwrap_or_default();
                let k = Kpis { occupancy: None, ..Kpis::from_counts(&c) };
                QueueSummary {
                    name: q.name.clone(),
                    kpis: k,
                    offered: c.offered,
                    answered: c.answered,
                    abandoned: c.abandoned,
                    short_abandoned: c.short_abandoned,
                    overflowed: c.overflowed,
                    widened: c.widened,
                    waiting_at_end: c.waiting,
                    abandon_rate: k.abandon_rate,
                    service_level: k.service_level,
                    asa_secs: k.asa_secs,
                    aht_secs: k.aht_secs,
                    intervals: report.map(|r| r.intervals.iter().map(row).collect()).unwrap_or_default(),
                }
            })
            .collect();
        Summary {
            offered: total.offered,
            answered: total.answered,
            abandoned: total.abandoned,
            abandon_rate: total.abandon_rate,
            service_level: total.service_level,
            asa_secs: total.asa_secs,
            aht_secs: total.aht_secs,
            occupancy: total.occupancy,
            intervals: outcome.kpi.intervals.iter().map(row).collect(),
            short_abandoned: total.short_abandoned,
            overflowed: total.overflowed,
            waiting_at_end: total.waiting,
            scenario: center.name.clone(),
            seed: options.seed,
            hours: center.hours,
            agents: center.agents.len(),
            sl_threshold_secs: options.sl_threshold_ms as f64 / 1000.0,
            short_abandon_secs: center.settings.short_abandon_ms as f64 / 1000.0,
            interval_mins: options.interval_ms as f64 / 60_000.0,
            end_secs: outcome.end_ms as f64 / 1000.0,
            queues,
            total,
        }
    }

    /// The summary as pretty JSON (deterministic: fixed field order, no maps).
    pub fn to_json(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The summary as aligned plain text.
    pub fn to_text(&self, tally: &Tally) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kefu sim: {} — {} agents, {} h, seed {}, SL threshold {} s, short abandons < {} s left out",
            self.scenario, self.agents, self.hours, self.seed, self.sl_threshold_secs, self.short_abandon_secs
        );
        let _ = writeln!(out);
        table(&mut out, "interval", &self.intervals, &self.day_row(), (self.hours * 3600.0).ceil() as i64);
        if self.queues.len() > 1 {
            let _ = writeln!(out);
            let rows: Vec<(String, Row)> = self.queues.iter().map(|q| (q.name.clone(), queue_row(q))).collect();
            header(&mut out, "queue (day)", false);
            for (name, r) in &rows {
                line(&mut out, name, r, false);
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "calls: {} offered = {} answered + {} abandoned ({} short) + {} overflowed out + {} still waiting at the end",
            self.offered, self.answered, self.abandoned, self.short_abandoned, self.overflowed, self.waiting_at_end
        );
        let _ = writeln!(
            out,
            "simulated until {} ({} router inputs, {} router events)",
            hhmm((self.end_secs * 1000.0) as i64),
            tally.inputs,
            tally.router_events
        );
        out
    }

    fn day_row(&self) -> Row {
        Row { start: "day".into(), start_secs: 0, kpis: self.total }
    }
}

fn queue_row(q: &QueueSummary) -> Row {
    Row { start: q.name.clone(), start_secs: 0, kpis: q.kpis }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn header(out: &mut String, first: &str, occupancy: bool) {
    let _ = write!(
        out,
        "{first:<12} {:>8} {:>8} {:>9} {:>7} {:>8} {:>7} {:>7} {:>7}",
        "offered", "answered", "abandoned", "overfl", "aband%", "SL", "ASA s", "AHT s"
    );
    if occupancy {
        let _ = write!(out, " {:>7}", "occ");
    }
    let _ = writeln!(out);
}

fn line(out: &mut String, label: &str, r: &Row, occupancy: bool) {
    let _ = write!(
        out,
        "{label:<12} {:>8} {:>8} {:>9} {:>7} {:>8} {:>7} {:>7} {:>7}",
        r.kpis.offered,
        r.kpis.answered,
        r.kpis.abandoned,
        r.kpis.overflowed,
        pct(r.kpis.abandon_rate),
        pct(r.kpis.service_level),
        secs(r.kpis.asa_secs),
        secs(r.kpis.aht_secs)
    );
    if occupancy {
        let _ = write!(out, " {:>7}", pct(r.kpis.occupancy));
    }
    let _ = writeln!(out);
}

/// Rows starting at or after `day_end_secs` only hold the drain (calls finishing after the
/// last arrival) and are marked so.
fn table(out: &mut String, first: &str, rows: &[Row], day: &Row, day_end_secs: i64) {
    header(out, first, true);
    for r in rows {
        let label = if r.start_secs >= day_end_secs { format!("{} drain", r.start) } else { r.start.clone() };
        line(out, &label, r, true);
    }
    line(out, "day", day, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_hours_and_minutes_past_midnight() {
        assert_eq!(hhmm(0), "00:00");
        assert_eq!(hhmm(90 * 60_000), "01:30");
        assert_eq!(hhmm(30 * 3_600_000), "30:00");
        assert_eq!(pct(None), "-");
        assert_eq!(pct(Some(0.8876)), "88.8%");
        assert_eq!(secs(Some(7.84)), "7.8");
    }
}
