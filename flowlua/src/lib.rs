//! ntopng-style Lua flow checks over nDPI flow records (work in progress).
#![deny(missing_docs)]
