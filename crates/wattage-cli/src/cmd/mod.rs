//! One module per subcommand: parse its flags or file, call the library, render the result.

pub mod catalog;
pub mod estimate;
pub mod keys;
pub mod ledger;
pub mod optimize;
pub mod run;
pub mod serve;
pub mod serving;
pub mod site;
pub mod sweep;
pub mod train;
