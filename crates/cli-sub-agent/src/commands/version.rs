//! `csa version [--json]`: this csa's version, the protocol it speaks with
//! csa on other hosts and the versions of the rows and details it prints
//! (`csa_remote::Versions`).

use std::process::ExitCode;

use crate::ui::Ui;
use csa_remote::Versions;

pub fn run(json: bool, ui: &Ui) -> anyhow::Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    let Versions {
        protocol,
        row,
        detail,
        fleet,
    } = Versions::OURS;
    if json {
        let json = serde_json::json!({
            "version": version,
            "protocol": protocol,
            "row_version": row,
            "detail_version": detail,
            "top_version": fleet,
        });
        ui.stdout(&format!("{json}\n"))?;
    } else {
        ui.stdout(&format!(
            "csa {version} (protocol {protocol}, rows {row}, details {detail}, top rows {fleet})\n"
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
