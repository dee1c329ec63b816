//! `csa version [--json]`: this csa's version and the protocol it speaks
//! with csa on other hosts (`crate::remote::PROTOCOL`).

use std::process::ExitCode;

use crate::remote::PROTOCOL;
use crate::ui::Ui;

pub fn run(json: bool, ui: &Ui) -> anyhow::Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    if json {
        let json = serde_json::json!({ "version": version, "protocol": PROTOCOL });
        ui.stdout(&format!("{json}\n"))?;
    } else {
        ui.stdout(&format!("csa {version} (protocol {PROTOCOL})\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}
