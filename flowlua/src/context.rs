//! The state the `flow.*` functions read: the current flow, the script and hook that are
//! running, and the alerts raised so far. Shared (`Rc`) between the engine and the functions,
//! which are created once per Lua state.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::rc::Rc;

use ndpi::FlowRecord;

use crate::{Alert, Hook};

/// The script a call belongs to, and the hook (none while a module loads).
#[derive(Clone)]
pub(crate) struct Call {
    pub script: Rc<str>,
    pub hook: Option<Hook>,
}

pub(crate) struct Context {
    /// The current record while [`Context::lend`] runs, null otherwise. A plain pointer rather
    /// than `Lua::scope` userdata: that would leave one finalizable userdata of garbage per
    /// flow, which Lua's emergency collections (the memory limit) cannot free.
    flow: Cell<*const FlowRecord>,
    call: RefCell<Option<Call>>,
    alerts: RefCell<Vec<Alert>>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            flow: Cell::new(ptr::null()),
            call: RefCell::default(),
            alerts: RefCell::default(),
        }
    }
}

/// Puts the previous record back when [`Context::lend`] ends, by return or by unwinding.
struct Restore<'a> {
    flow: &'a Cell<*const FlowRecord>,
    previous: *const FlowRecord,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.flow.set(self.previous);
    }
}

impl Context {
    /// Runs `f` with `record` current.
    pub fn lend<R>(&self, record: &FlowRecord, f: impl FnOnce() -> R) -> R {
        let previous = self.flow.replace(record);
        let _restore = Restore {
            flow: &self.flow,
            previous,
        };
        f()
    }

    /// `f` applied to the current record, `None` outside a flow.
    #[allow(unsafe_code)]
    pub fn with_flow<R>(&self, f: impl FnOnce(&FlowRecord) -> R) -> Option<R> {
        // SAFETY: the pointer is null or was set by `lend` from a `&FlowRecord` that lives for
        // the whole of that `lend` call, and `Restore` puts the previous value back before
        // `lend` returns or unwinds, so a non-null pointer is always live. `f` cannot keep the
        // reference: `R` does not depend on its lifetime.
        unsafe { self.flow.get().as_ref() }.map(f)
    }

    pub fn set_call(&self, call: Option<Call>) {
        *self.call.borrow_mut() = call;
    }

    pub fn call(&self) -> Option<Call> {
        self.call.borrow().clone()
    }

    pub fn push_alert(&self, alert: Alert) {
        self.alerts.borrow_mut().push(alert);
    }

    pub fn take_alerts(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.alerts.borrow_mut())
    }
}
