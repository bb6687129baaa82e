//! Per-call resource limits: memory, CPU time (epoch ticks), wall clock, and
//! what a plugin may make the host hold for it (resource handles, loopback
//! listeners).

use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTableError;
use wasmtime_wasi_http::FieldMapError;

use crate::error::PluginFailure;

/// How often the engine's epoch advances; the unit of the CPU budget.
pub const TICK: Duration = Duration::from_millis(10);

/// The most host memory one resource handle can hold: the host keeps every
/// kind of handle a plugin can create under this (HTTP fields are capped at
/// [`FIELDS_BYTES`], a request body buffers at most twice
/// [`BODY_CHUNK_BYTES`], the strings of a request at [`HTTP_TEXT_BYTES`]
/// each), so that handles × this bounds what a call makes the host hold.
pub const HANDLE_BYTES: usize = 128 << 10;
/// Size of the in-memory form of one set of HTTP header fields.
pub const FIELDS_BYTES: usize = 64 << 10;
/// Largest write into an outgoing HTTP body; the host buffers at most two
/// before the body is sent.
pub const BODY_CHUNK_BYTES: usize = 64 << 10;
/// Longest method, authority or path of an outgoing HTTP request.
pub const HTTP_TEXT_BYTES: usize = 8 << 10;
/// Handles a call may hold at once, whatever `memory_mib` says.
const MIN_HANDLES: usize = 64;
const MAX_HANDLES: usize = 16_384;
/// Loopback listeners a call may open.
pub const MAX_LISTENERS: u32 = 8;

/// Why the host stopped a guest; carried as the trap's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// The CPU budget ran out.
    #[error("CPU time limit reached")]
    Cpu,
    /// The memory cap was reached.
    #[error("memory limit reached")]
    Memory,
    /// The resource table is full: the plugin holds as many handles as its
    /// memory limit pays for.
    #[error("host resource limit reached")]
    Handles,
    /// One set of HTTP header fields outgrew [`FIELDS_BYTES`].
    #[error("HTTP fields limit reached")]
    Fields,
    /// `wasi:http` was used before the call's grants were set (in
    /// `describe`).
    #[error("wasi:http used before grants were set")]
    HttpBeforeGrants,
}

impl Stop {
    /// The limit behind `error`, when a limit stopped the guest: a [`Stop`]
    /// raised by the host, a full resource table (which wasmtime and the
    /// WASI implementations report as a [`ResourceTableError`]), or fields
    /// grown past their limit (a trap in wasmtime-wasi-http).
    pub fn of(error: &wasmtime::Error) -> Option<Stop> {
        if let Some(stop) = error.downcast_ref::<Stop>() {
            return Some(*stop);
        }
        if let Some(FieldMapError::TotalSizeTooBig | FieldMapError::TooManyFields) =
            error.downcast_ref::<FieldMapError>()
        {
            return Some(Stop::Fields);
        }
        match error.downcast_ref::<ResourceTableError>() {
            Some(ResourceTableError::Full) => Some(Stop::Handles),
            _ => None,
        }
    }

    /// The failure reported for this stop under `limits`.
    pub fn failure(self, limits: &Limits) -> PluginFailure {
        match self {
            Stop::Cpu => PluginFailure::CpuLimit { ms: limits.cpu_ms },
            Stop::Memory => PluginFailure::MemoryLimit {
                mib: limits.memory_mib,
            },
            Stop::Handles => PluginFailure::HostResources {
                max: max_handles(limits),
                mib: limits.memory_mib,
            },
            Stop::Fields => PluginFailure::HttpFields {
                kib: FIELDS_BYTES >> 10,
            },
            Stop::HttpBeforeGrants => PluginFailure::HttpInDescribe,
        }
    }
}

/// The handles a call may hold at once: `memory_mib` divided by
/// [`HANDLE_BYTES`] (512 for 64 MiB), within fixed bounds.
pub fn max_handles(limits: &Limits) -> usize {
    handles_for(limits.memory_mib.saturating_mul(1 << 20))
}

/// The handles `memory` bytes pay for, within fixed bounds.
pub fn handles_for(memory: u64) -> usize {
    let handles = usize::try_from(memory / HANDLE_BYTES as u64).unwrap_or(usize::MAX);
    handles.clamp(MIN_HANDLES, MAX_HANDLES)
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

/// `[limits]`: bounds on every plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory a plugin instance may use, in MiB.
    pub memory_mib: u64,
    /// CPU time a plugin call may use, in milliseconds (stops endless loops;
    /// time spent waiting in host calls does not count).
    pub cpu_ms: u64,
    /// Wall-clock limit of `describe` (which may call no import, so needs
    /// little time: a slow one must not hold up every command).
    pub describe_timeout_ms: u64,
    /// Wall-clock limit of a non-interactive call (`resolve`).
    pub call_timeout_ms: u64,
    /// Wall-clock limit of an interactive `login`.
    pub login_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            cpu_ms: 10_000,
            describe_timeout_ms: 500,
            call_timeout_ms: 120_000,
            login_timeout_ms: 900_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(memory_mib: u64) -> Limits {
        Limits {
            memory_mib,
            ..Limits::default()
        }
    }

    #[test]
    fn handles_follow_memory_mib_within_bounds() {
        assert_eq!(max_handles(&limits(64)), 512);
        assert_eq!(max_handles(&limits(1)), MIN_HANDLES);
        assert_eq!(max_handles(&limits(u64::MAX)), MAX_HANDLES);
    }

    #[test]
    fn a_full_table_is_a_handle_stop_even_with_context() {
        let full = wasmtime::Error::new(ResourceTableError::Full).context("pushing fields");
        assert_eq!(Stop::of(&full), Some(Stop::Handles));
        let missing = wasmtime::Error::new(ResourceTableError::NotPresent);
        assert_eq!(Stop::of(&missing), None);
        let fat = wasmtime::Error::new(FieldMapError::TotalSizeTooBig).context("appending");
        assert_eq!(Stop::of(&fat), Some(Stop::Fields));
        let cpu = wasmtime::Error::new(Stop::Cpu).context("in a call");
        assert_eq!(Stop::of(&cpu), Some(Stop::Cpu));
    }

    #[test]
    fn each_stop_names_its_limit() {
        let l = limits(64);
        for (stop, needle) in [
            (Stop::Cpu, "cpu_ms"),
            (Stop::Memory, "memory_mib"),
            (Stop::Handles, "512 host resources"),
            (Stop::HttpBeforeGrants, "describe"),
            (Stop::Fields, "64 KiB"),
        ] {
            let text = stop.failure(&l).to_string();
            assert!(text.contains(needle), "{text}");
        }
    }
}
