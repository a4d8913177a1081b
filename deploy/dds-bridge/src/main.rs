//! `vigor-dds-bridge`: a zenoh router with zenoh-plugin-dds linked in, the robot's side of the
//! wire. The plugin joins the DDS domain of the config's `plugins/dds` block as a CycloneDDS
//! participant and, for each DDS topic `A` that `allow` matches, routes samples between the DDS
//! topic and the zenoh key `A` (or `S/A` with a `scope` `S`), the payload being the sample's raw
//! CDR bytes with their encapsulation header. That is what vigor's topic registry
//! (`msgs/src/topics.rs`) expects on `rt/lowstate` and `rt/lowcmd`.
//!
//! It does what the upstream `zenoh-bridge-dds` binary does with a config file, and reads the
//! same files (`deploy/dds/bridge.json5`, `deploy/zenoh/bridge-dds.json5`), without that binary's
//! command-line mapping of every plugin option:
//!
//! ```text
//! vigor-dds-bridge --config FILE [--listen ENDPOINT]...
//! ```
//!
//! `--listen` replaces the file's `listen/endpoints` (scripts/dds-bridge-check.sh picks a free
//! port). The process runs until SIGINT or SIGTERM, then exits with status 0.

use anyhow::{Context, Result, bail};
use zenoh::Config;
use zenoh::internal::plugins::PluginsManager;
use zenoh::internal::runtime::RuntimeBuilder;
use zenoh_plugin_dds::DDSPlugin;

/// The name of the plugin's block in the config (`plugins/dds`), which the plugin reads its
/// settings from.
const PLUGIN_NAME: &str = "dds";

/// What the command line says.
struct Args {
    config: String,
    listen: Vec<String>,
}

fn parse_args() -> Result<Args> {
    let usage = "usage: vigor-dds-bridge --config FILE [--listen ENDPOINT]...";
    let mut config = None;
    let mut listen = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-c" | "--config" => config = Some(args.next().context(usage)?),
            "-l" | "--listen" => listen.push(args.next().context(usage)?),
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            other => bail!("unexpected argument `{other}`\n{usage}"),
        }
    }
    Ok(Args { config: config.context(usage)?, listen })
}

/// The file's config, with `--listen` applied and the two settings the plugin relies on.
fn load_config(args: &Args) -> Result<Config> {
    let mut config = Config::from_file(&args.config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading zenoh config {}", args.config))?;
    let has_plugin = config
        .get_json(&format!("plugins/{PLUGIN_NAME}"))
        .is_ok_and(|v| v.trim() != "null");
    if !has_plugin {
        bail!("{}: no `plugins: {{ {PLUGIN_NAME}: {{ ... }} }}` block", args.config);
    }
    if !args.listen.is_empty() {
        let endpoints = format!(
            "[{}]",
            args.listen.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(",")
        );
        config
            .insert_json5("listen/endpoints", &endpoints)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("--listen")?;
    }
    // As zenoh-bridge-dds does: the plugin stamps what it routes (its publication caches for
    // TRANSIENT_LOCAL readers order samples by timestamp), and a config with plugins loading
    // disabled would start the router without it.
    for (key, value) in [("timestamping/enabled", "true"), ("plugins_loading/enabled", "true")] {
        config.insert_json5(key, value).map_err(|e| anyhow::anyhow!("{e}")).context(key)?;
    }
    Ok(config)
}

async fn run() -> Result<std::convert::Infallible> {
    let args = parse_args()?;
    let config = load_config(&args)?;

    let mut plugins = PluginsManager::static_plugins_only();
    // Required: the router does not start without it.
    plugins.declare_static_plugin::<DDSPlugin, &str>(PLUGIN_NAME, true);
    let mut runtime = RuntimeBuilder::new(config)
        .plugins_manager(plugins)
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("building the zenoh runtime (and starting the DDS plugin)")?;
    runtime.start().await.map_err(|e| anyhow::anyhow!("{e}")).context("starting the router")?;
    eprintln!("vigor-dds-bridge: running ({})", args.config);

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    eprintln!("vigor-dds-bridge: stopping");
    // Exit at once, as zenoh-bridge-dds does when a signal ends it. The plugin has no stop of its
    // own, and tearing the router down under it goes wrong in zenoh 1.10.2: `runtime.close()`
    // first makes the plugin's task, dropped afterwards, undeclare its liveliness token into the
    // closed router and panic (zenoh::bug "Undefined face context"); dropping the task first
    // leaves CycloneDDS's discovery callbacks sending into a closed channel (logged as errors).
    // The operating system closes the sockets: zenoh clients see the router go at once, DDS peers
    // when the participant's lease ends.
    std::process::exit(0)
}

#[tokio::main]
async fn main() {
    zenoh::init_log_from_env_or("warn");
    // `run` returns only with an error: a signal ends the process inside it.
    let Err(e) = run().await;
    eprintln!("vigor-dds-bridge: error: {e:#}");
    std::process::exit(1);
}
