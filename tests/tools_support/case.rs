//! One scripted scenario for a tool, for the tests that run it several ways (beside
//! inotify-tools' program, or on inotify and on fanotify) and compare what each printed.

use std::path::Path;

use super::{run_script, Outcome, Run, Tool, Until};

/// Puts lines in an order of its own.
pub type Reorder<'a> = &'a dyn Fn(&mut Vec<String>);

/// One scenario: arguments, what the directory holds first, the operations, and when
/// the output is complete (for `-m`; otherwise the program's exit).
pub struct Case<'a> {
    pub args: &'a [&'a str],
    pub setup: &'a str,
    pub script: &'a str,
    /// More operations, once the program has printed what the first says.
    pub then: Option<(Until<'a>, &'a str)>,
    pub until: Option<Until<'a>>,
    /// Ready at this many watches and file-system marks (for `-q`, which says nothing), not at
    /// "Watches established.".
    pub quiet_watches: Option<usize>,
    pub env: Vec<(&'a str, &'a str)>,
    pub stdin: Option<&'a [u8]>,
    /// Lines of inotifywait's output that the example leaves out on purpose.
    pub real_extra: Option<&'a dyn Fn(&str) -> bool>,
    /// Puts standard output in an order that does not depend on how the events of two
    /// watchers interleave.
    pub normalize: Option<Reorder<'a>>,
}

impl<'a> Case<'a> {
    pub fn new(args: &'a [&'a str]) -> Case<'a> {
        Case {
            args,
            setup: "",
            script: "",
            then: None,
            until: None,
            quiet_watches: None,
            env: Vec::new(),
            stdin: None,
            real_extra: None,
            normalize: None,
        }
    }
    pub fn normalize(mut self, normalize: Reorder<'a>) -> Self {
        self.normalize = Some(normalize);
        self
    }
    pub fn real_extra(mut self, extra: &'a dyn Fn(&str) -> bool) -> Self {
        self.real_extra = Some(extra);
        self
    }
    pub fn setup(mut self, setup: &'a str) -> Self {
        self.setup = setup;
        self
    }
    pub fn script(mut self, script: &'a str) -> Self {
        self.script = script;
        self
    }
    pub fn then(mut self, printed: Until<'a>, script: &'a str) -> Self {
        self.then = Some((printed, script));
        self
    }
    pub fn until(mut self, until: Until<'a>) -> Self {
        self.until = Some(until);
        self
    }
    pub fn quiet(mut self, watches: usize) -> Self {
        self.quiet_watches = Some(watches);
        self
    }
    pub fn env(mut self, key: &'a str, value: &'a str) -> Self {
        self.env.push((key, value));
        self
    }
    pub fn stdin(mut self, input: &'a [u8]) -> Self {
        self.stdin = Some(input);
        self
    }

    /// Runs `tool`'s `name` with `flags`, then the case's arguments, in `dir`, prepared
    /// with the case's setup first; its standard output normalized.
    pub fn run(&self, tool: Tool, name: &str, flags: &[&str], dir: &Path) -> Outcome {
        run_script(dir, self.setup);
        let args: Vec<&str> = flags.iter().chain(self.args).copied().collect();
        let mut run = Run::new(tool, name, &args, dir).script(self.script);
        if let Some((printed, script)) = self.then {
            run = run.then(printed, script);
        }
        if let Some(until) = self.until {
            run = run.until(until);
        }
        if let Some(watches) = self.quiet_watches {
            run = run.ready_at_watches(watches);
        }
        for &(key, value) in &self.env {
            run = run.env(key, value);
        }
        if let Some(input) = self.stdin {
            run = run.stdin(input);
        }
        let mut outcome = run.go();
        if let Some(normalize) = self.normalize {
            normalize(&mut outcome.stdout);
        }
        outcome
    }
}
