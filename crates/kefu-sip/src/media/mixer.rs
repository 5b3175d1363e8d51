//! Supervisor monitoring: what caller, agent and supervisor each hear, one 20 ms frame at a time.
//!
//! Every output is the saturating sum of the other parties it should hear; a missing frame
//! (lost packet, muted or absent party) counts as silence.

use super::{Frame, SAMPLES_PER_FRAME};

/// How a supervisor joins a call between caller and agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorMode {
    /// The supervisor hears both; nobody hears the supervisor.
    Listen,
    /// The supervisor hears both; only the agent hears the supervisor.
    Whisper,
    /// Everyone hears the other two.
    Barge,
}

/// The frames to send to each party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixOutput {
    /// What the caller hears.
    pub to_caller: Frame,
    /// What the agent hears.
    pub to_agent: Frame,
    /// What the supervisor hears.
    pub to_supervisor: Frame,
}

/// The saturating sum of the given frames; `None` is silence.
pub fn sum(frames: &[Option<&Frame>]) -> Frame {
    let mut out = [0i16; SAMPLES_PER_FRAME];
    for frame in frames.iter().flatten() {
        for (o, &s) in out.iter_mut().zip(frame.iter()) {
            *o = o.saturating_add(s);
        }
    }
    out
}

/// Mixes one frame of each party for `mode`.
pub fn mix(mode: MonitorMode, caller: Option<&Frame>, agent: Option<&Frame>, supervisor: Option<&Frame>) -> MixOutput {
    let to_supervisor = sum(&[caller, agent]);
    let (to_caller, to_agent) = match mode {
        MonitorMode::Listen => (sum(&[agent]), sum(&[caller])),
        MonitorMode::Whisper => (sum(&[agent]), sum(&[caller, supervisor])),
        MonitorMode::Barge => (sum(&[agent, supervisor]), sum(&[caller, supervisor])),
    };
    MixOutput { to_caller, to_agent, to_supervisor }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: i16 = 1;
    const AGENT: i16 = 10;
    const SUPERVISOR: i16 = 100;

    fn frame(v: i16) -> Frame {
        [v; SAMPLES_PER_FRAME]
    }

    /// Mixes constant frames and returns the first sample each party hears.
    fn hear(mode: MonitorMode) -> (i16, i16, i16) {
        let (c, a, s) = (frame(CALLER), frame(AGENT), frame(SUPERVISOR));
        let out = mix(mode, Some(&c), Some(&a), Some(&s));
        for f in [&out.to_caller, &out.to_agent, &out.to_supervisor] {
            assert!(f.iter().all(|&x| x == f[0]));
        }
        (out.to_caller[0], out.to_agent[0], out.to_supervisor[0])
    }

    #[test]
    fn listen_lets_only_the_supervisor_hear_more() {
        assert_eq!(hear(MonitorMode::Listen), (AGENT, CALLER, CALLER + AGENT));
    }

    #[test]
    fn whisper_reaches_only_the_agent() {
        assert_eq!(hear(MonitorMode::Whisper), (AGENT, CALLER + SUPERVISOR, CALLER + AGENT));
    }

    #[test]
    fn barge_lets_everyone_hear_the_other_two() {
        assert_eq!(hear(MonitorMode::Barge), (AGENT + SUPERVISOR, CALLER + SUPERVISOR, CALLER + AGENT));
    }

    #[test]
    fn missing_frames_are_silence() {
        let a = frame(AGENT);
        let out = mix(MonitorMode::Barge, None, Some(&a), None);
        assert_eq!(out.to_caller, a);
        assert_eq!(out.to_agent, frame(0));
        assert_eq!(out.to_supervisor, a);
        assert_eq!(mix(MonitorMode::Whisper, None, None, None).to_agent, frame(0));
    }

    #[test]
    fn sums_clip_instead_of_wrapping() {
        let loud = frame(30_000);
        let quiet_neg = frame(-30_000);
        let out = mix(MonitorMode::Barge, Some(&loud), Some(&loud), Some(&quiet_neg));
        assert_eq!(out.to_supervisor, frame(i16::MAX));
        assert_eq!(out.to_caller, frame(0));
        let out = mix(MonitorMode::Barge, Some(&quiet_neg), Some(&quiet_neg), Some(&frame(i16::MIN)));
        assert_eq!(out.to_supervisor, frame(i16::MIN));
        assert_eq!(out.to_agent, frame(i16::MIN));
    }

    #[test]
    fn samples_are_mixed_position_by_position() {
        let mut ramp = [0i16; SAMPLES_PER_FRAME];
        for (i, s) in ramp.iter_mut().enumerate() {
            *s = i16::try_from(i).unwrap();
        }
        let out = mix(MonitorMode::Listen, Some(&ramp), Some(&ramp), None);
        assert!(out.to_supervisor.iter().enumerate().all(|(i, &s)| usize::try_from(s).unwrap() == 2 * i));
    }
}
