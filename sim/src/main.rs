//! `kuando-sim hub | myapps | demo`: see `--help`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kuando-sim",
    about = "Simulators of kuandoHUB, myApps and the PBX (127.0.0.1 only)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The kuandoHUB HTTP server.
    Hub(kuando_sim::hub::Options),
    /// myApps, the PBX and the connector's app service.
    Myapps(kuando_sim::myapps::Options),
    /// Both, wired together for a demo.
    Demo {
        #[command(flatten)]
        hub: kuando_sim::hub::Options,
        #[command(flatten)]
        myapps: kuando_sim::myapps::Options,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Hub(o) => kuando_sim::hub::run(o).await,
        Cmd::Myapps(o) => kuando_sim::myapps::run(o).await,
        Cmd::Demo { hub, myapps } => {
            // The demo starts where a real hub starts (`--hub-priorities concept` for an administrator's).
            tokio::select! {
                r = kuando_sim::hub::run(hub) => r,
                r = kuando_sim::myapps::run(myapps) => r,
            }
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kuando-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
