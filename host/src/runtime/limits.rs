//! Per-call resource limits: memory, CPU time (epoch ticks) and wall clock.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// How often the engine's epoch advances; the unit of the CPU budget.
pub const TICK: Duration = Duration::from_millis(10);

/// Why the host stopped a guest; carried as the trap's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// The CPU budget ran out.
    #[error("CPU time limit reached")]
    Cpu,
    /// The memory cap was reached.
    #[error("memory limit reached")]
    Memory,
}

/// Caps linear memory and tables of one store.
pub struct Limiter {
    max_memory: usize,
}

impl Limiter {
    /// A limiter allowing `max_memory` bytes of linear memory per memory.
    pub fn new(max_memory: usize) -> Limiter {
        Limiter { max_memory }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            return Err(wasmtime::Error::new(Stop::Memory));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Counts the epoch ticks a guest has been seen running. The engine's epoch
/// advances every [`TICK`]; the deadline callback runs only when guest code
/// reaches a check after the epoch moved, at most once a tick, so time spent
/// blocked in host calls (waiting for a browser, a process) is not counted.
#[derive(Debug, Clone, Copy)]
pub struct CpuBudget {
    ticks_left: u64,
}

impl CpuBudget {
    /// A budget of `ms` milliseconds.
    pub fn new(ms: u64) -> CpuBudget {
        CpuBudget {
            ticks_left: (ms / TICK.as_millis() as u64).max(1),
        }
    }

    /// Spends one tick; false when the budget is exhausted.
    pub fn spend_tick(&mut self) -> bool {
        self.ticks_left = self.ticks_left.saturating_sub(1);
        self.ticks_left > 0
    }
}
