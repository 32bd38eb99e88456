//! The state the `flow.*` functions read: the current flow, the script
//! and hook that are running, the alerts raised so far, and which alerts each live flow has had.
//! Shared (`Rc`) between the engine and the functions, which are created once per Lua state.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ptr;
use std::rc::Rc;

use ndpi::FlowRecord;

use crate::alert::FlowKey;
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
    /// Counts [`Context::lend`] calls: one per hook run, to tell an earlier hook's alerts apart.
    run: Cell<u64>,
    /// The alerts each flow has raised, until its end hook. Only flows that raised something
    /// have an entry.
    raised: RefCell<HashMap<FlowKey, Vec<Raised>>>,
}

/// An alert a flow has had, as far as telling repeats goes.
struct Raised {
    script: Rc<str>,
    /// Where `flow.triggerAlert` was called: `"file.lua:12:"`.
    site: String,
    message: String,
    /// The hook run ([`Context::run`]) it was raised in.
    run: u64,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            flow: Cell::new(ptr::null()),
            call: RefCell::default(),
            alerts: RefCell::default(),
            run: Cell::new(0),
            raised: RefCell::default(),
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
    /// Runs `f` with `record` current: one hook run.
    pub fn lend<R>(&self, record: &FlowRecord, f: impl FnOnce() -> R) -> R {
        self.run.set(self.run.get() + 1);
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

    /// Keeps `alert`, raised by `script` from `site` on `record`, unless it repeats one the
    /// flow has had: the same script raised the same message, or raised from the same site in
    /// an earlier hook (the same condition, still true, with numbers in the message grown).
    /// Within one hook run, one site may raise several messages (a loop over risks, say).
    /// `site` is asked only when the message alone does not decide.
    pub fn push_alert(
        &self,
        record: &FlowRecord,
        script: &Rc<str>,
        site: impl FnOnce() -> String,
        alert: Alert,
    ) {
        let run = self.run.get();
        let mut raised = self.raised.borrow_mut();
        let seen = raised.entry(FlowKey::of(record)).or_default();
        let ours = || seen.iter().filter(|r| Rc::ptr_eq(&r.script, script));
        if ours().any(|r| r.message == alert.message) {
            return;
        }
        let site = site();
        if ours().any(|r| r.site == site && r.run != run) {
            return;
        }
        seen.push(Raised {
            script: script.clone(),
            site,
            message: alert.message.clone(),
            run,
        });
        self.alerts.borrow_mut().push(alert);
    }

    /// Forgets the alerts `record`'s flow has raised: it ended.
    pub fn forget(&self, record: &FlowRecord) {
        let mut raised = self.raised.borrow_mut();
        if !raised.is_empty() {
            raised.remove(&FlowKey::of(record));
        }
    }

    pub fn take_alerts(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.alerts.borrow_mut())
    }
}
