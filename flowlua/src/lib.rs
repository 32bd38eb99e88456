#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod alert;
mod config;
mod context;
mod engine;
mod failure;
mod flow_api;
mod flow_info;
mod limits;
mod lua_fields;
mod modules;
mod output;
mod runtime;
mod scripts;
mod tables;

pub use alert::{Alert, Hook};
pub use config::EngineConfig;
pub use engine::{Engine, LoadError};
pub use failure::{FailureKind, ScriptFailure};
/// The `mlua` crate, whose errors [`LoadError::Lua`] carries.
pub use mlua;
pub use output::{Output, OutputFn};
