//! The run's clock: as fast as possible, or paced by event time at a speed factor; pause, single
//! step and stop. Sources ask it before emitting each batch; nothing else waits on it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::contract::Timestamp;

/// How fast event time plays back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the machine allows.
    Max,
    /// Event time runs this many times faster than the wall clock (1.0 is real time).
    Factor(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "max" => Ok(Speed::Max),
            "realtime" | "real-time" => Ok(Speed::Factor(1.0)),
            other => {
                let number = other.strip_suffix('x').unwrap_or(other);
                match number.parse::<f64>() {
                    Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
                    _ => Err(format!(
                        "`{text}` is not a speed: use max, or a factor such as 10x, 1x (real time) or 0.1x"
                    )),
                }
            }
        }
    }
}

#[derive(Debug)]
struct State {
    speed: Speed,
    paused: bool,
    /// Batches allowed through while paused.
    steps: u64,
    stopped: bool,
    /// When stopped: end the sources as complete inputs (fire every window) rather than cut them.
    draining: bool,
    /// Wall instant and event time that line up, for pacing.
    anchor: Option<(Instant, Timestamp)>,
    /// The newest event time let through.
    event_time: Option<Timestamp>,
}

/// Shared by every source of a run.
#[derive(Debug)]
pub struct Clock {
    state: Mutex<State>,
    changed: Condvar,
    started: Instant,
}

impl Clock {
    pub fn new(speed: Speed) -> Self {
        Self {
            state: Mutex::new(State {
                speed,
                paused: false,
                steps: 0,
                stopped: false,
                draining: false,
                anchor: None,
                event_time: None,
            }),
            changed: Condvar::new(),
            started: Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned clock only means a source panicked; its state is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until a batch whose newest event is at `event_time` may be emitted.
    /// Returns false when the run is stopping.
    pub fn gate(&self, event_time: Option<Timestamp>) -> bool {
        self.gate_or_idle(event_time, None, &mut || {})
    }

    /// Like [`Clock::gate`]; when the wait for this batch lasts longer than `idle_after` of wall
    /// time, calls `on_idle` once (the source tells downstream it is idle, so it stops holding
    /// back the watermark of operators with other inputs).
    pub fn gate_or_idle(
        &self,
        event_time: Option<Timestamp>,
        idle_after: Option<Duration>,
        on_idle: &mut dyn FnMut(),
    ) -> bool {
        let waiting_since = Instant::now();
        let mut signalled = false;
        let mut state = self.lock();
        loop {
            if state.stopped {
                return false;
            }
            if state.paused {
                if state.steps > 0 {
                    state.steps -= 1;
                    break;
                }
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let (Speed::Factor(factor), Some(ts)) = (state.speed, event_time) else {
                break;
            };
            let now = Instant::now();
            let (wall, event) = *state.anchor.get_or_insert((now, ts));
            let ahead_ms = (ts - event) as f64 / factor;
            let target = if ahead_ms <= 0.0 {
                wall
            } else {
                wall + Duration::from_secs_f64(ahead_ms / 1000.0)
            };
            if now >= target {
                break;
            }
            let mut wake_in = target - now;
            if let Some(idle) = idle_after.filter(|_| !signalled) {
                let waited = now.duration_since(waiting_since);
                if waited >= idle {
                    // Never call out while holding the lock: the callback may wait on a channel.
                    drop(state);
                    on_idle();
                    signalled = true;
                    state = self.lock();
                    continue;
                }
                wake_in = wake_in.min(idle - waited);
            }
            state = self
                .changed
                .wait_timeout(state, wake_in)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if let Some(ts) = event_time {
            state.event_time = Some(state.event_time.map_or(ts, |t| t.max(ts)));
        }
        true
    }

    /// The event time playback has reached, where pacing says it should be now.
    fn position(state: &State, now: Instant) -> Option<Timestamp> {
        match (state.speed, state.anchor) {
            (Speed::Factor(f), Some((wall, event))) => {
                Some(event + (now.duration_since(wall).as_secs_f64() * 1000.0 * f) as i64)
            }
            _ => state.event_time,
        }
    }

    pub fn set_speed(&self, speed: Speed) {
        let mut state = self.lock();
        let now = Instant::now();
        let position = Self::position(&state, now);
        state.anchor = position.map(|p| (now, p.min(state.event_time.unwrap_or(p))));
        state.speed = speed;
        self.changed.notify_all();
    }

    pub fn speed(&self) -> Speed {
        self.lock().speed
    }

    pub fn pause(&self) {
        let mut state = self.lock();
        state.paused = true;
        state.steps = 0;
        self.changed.notify_all();
    }

    pub fn resume(&self) {
        let mut state = self.lock();
        state.paused = false;
        // Pacing restarts from where playback stood, not from before the pause.
        state.anchor = state.event_time.map(|t| (Instant::now(), t));
        self.changed.notify_all();
    }

    /// While paused, lets one more batch (and its watermark) through.
    pub fn step(&self) {
        let mut state = self.lock();
        state.steps += 1;
        self.changed.notify_all();
    }

    pub fn step_pending(&self) -> bool {
        self.lock().steps > 0
    }

    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    pub fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        self.changed.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Stops the sources and has them end as complete inputs.
    pub fn stop_draining(&self) {
        let mut state = self.lock();
        state.stopped = true;
        state.draining = true;
        self.changed.notify_all();
    }

    pub fn is_draining(&self) -> bool {
        self.lock().draining
    }

    /// The newest event time the sources have emitted.
    pub fn event_time(&self) -> Option<Timestamp> {
        self.lock().event_time
    }

    /// Wall time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The wall clock in epoch milliseconds, for processing-time pipelines.
    pub fn now_millis() -> Timestamp {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn speeds_parse_as_people_write_them() {
        assert_eq!("max".parse::<Speed>().unwrap(), Speed::Max);
        assert_eq!("realtime".parse::<Speed>().unwrap(), Speed::Factor(1.0));
        assert_eq!("10x".parse::<Speed>().unwrap(), Speed::Factor(10.0));
        assert_eq!("0.1x".parse::<Speed>().unwrap(), Speed::Factor(0.1));
        assert!("fast".parse::<Speed>().is_err());
        assert!("0x".parse::<Speed>().is_err());
    }

    #[test]
    fn paced_gate_waits_for_event_time_to_come_due() {
        let clock = Clock::new(Speed::Factor(10.0));
        let start = Instant::now();
        assert!(clock.gate(Some(0)));
        // 500 ms of event time at 10x is 50 ms of wall time.
        assert!(clock.gate(Some(500)));
        assert!(start.elapsed() >= Duration::from_millis(45));
    }

    #[test]
    fn a_long_wait_signals_idleness_once() {
        let clock = Clock::new(Speed::Factor(1.0));
        assert!(clock.gate(Some(0)));
        let mut idle_calls = 0;
        // 300 ms of event time at real time, idle after 50 ms of waiting.
        let passed = clock.gate_or_idle(Some(300), Some(Duration::from_millis(50)), &mut || {
            idle_calls += 1
        });
        assert!(passed);
        assert_eq!(idle_calls, 1);
    }

    #[test]
    fn pause_blocks_step_releases_one_and_stop_ends() {
        let clock = Arc::new(Clock::new(Speed::Max));
        clock.pause();
        let c = Arc::clone(&clock);
        let passed = std::thread::spawn(move || {
            let mut n = 0;
            while c.gate(Some(n)) {
                n += 1;
            }
            n
        });
        std::thread::sleep(Duration::from_millis(30));
        clock.step();
        clock.step();
        std::thread::sleep(Duration::from_millis(30));
        clock.stop();
        assert_eq!(passed.join().unwrap(), 2);
    }
}
