//! `vigor msgs encode|decode`: JSON <-> wire bytes, for inspecting captured payloads.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use vigor_msgs::project::{ControllerCommand, ControllerStatus, DepthFrame, SimRequest};
use vigor_msgs::unitree_hg::{LowCmd, LowState};

/// `vigor msgs ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read JSON on stdin, write the wire bytes to stdout (the CRC is always recomputed).
    ///
    /// Unitree messages accept partial JSON: missing fields are zero and `motor_cmd` /
    /// `motor_state` may list fewer than 35 motors. Example:
    /// echo '{"mode_machine":5,"motor_cmd":[{"mode":1,"kd":8}]}' | vigor msgs encode --type lowcmd > cmd.bin
    Encode(TypeArg),
    /// Read wire bytes on stdin, check them (length, header, padding, CRC) and write JSON to stdout.
    ///
    /// The JSON is accepted back by `vigor msgs encode` and gives the same bytes.
    Decode(TypeArg),
}

/// The message type flag.
#[derive(Debug, Args)]
pub struct TypeArg {
    /// Message type.
    #[arg(long = "type", value_enum)]
    kind: MsgType,
}

/// Message types the tool knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MsgType {
    /// unitree_hg LowCmd_ (rt/lowcmd).
    Lowcmd,
    /// unitree_hg LowState_ (rt/lowstate).
    Lowstate,
    /// vigor DepthFrame.
    Depth,
    /// vigor ControllerStatus.
    Status,
    /// vigor ControllerCommand.
    Command,
    /// vigor SimRequest.
    SimRequest,
}

/// Runs the subcommand on stdin/stdout.
pub fn run(cmd: &Command) -> Result<()> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading stdin")?;
    let output = match cmd {
        Command::Encode(t) => encode(t.kind, &input)?,
        Command::Decode(t) => {
            let mut json = decode(t.kind, &input)?;
            json.push('\n');
            json.into_bytes()
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&output).context("writing stdout")?;
    stdout.flush().context("writing stdout")
}

fn parse<T: serde::de::DeserializeOwned>(input: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(input).with_context(|| format!("stdin is not valid {what} JSON"))
}

/// JSON -> wire bytes.
pub fn encode(kind: MsgType, input: &[u8]) -> Result<Vec<u8>> {
    Ok(match kind {
        MsgType::Lowcmd => parse::<LowCmd>(input, "LowCmd")?.encode(),
        MsgType::Lowstate => parse::<LowState>(input, "LowState")?.encode(),
        MsgType::Depth => parse::<DepthFrame>(input, "DepthFrame")?.encode()?,
        MsgType::Status => parse::<ControllerStatus>(input, "ControllerStatus")?.encode(),
        MsgType::Command => parse::<ControllerCommand>(input, "ControllerCommand")?.encode(),
        MsgType::SimRequest => parse::<SimRequest>(input, "SimRequest")?.encode()?,
    })
}

/// Wire bytes -> pretty JSON.
pub fn decode(kind: MsgType, input: &[u8]) -> Result<String> {
    let ctx = "stdin is not a valid frame";
    let json = match kind {
        MsgType::Lowcmd => serde_json::to_string_pretty(&LowCmd::decode(input).context(ctx)?),
        MsgType::Lowstate => serde_json::to_string_pretty(&LowState::decode(input).context(ctx)?),
        MsgType::Depth => serde_json::to_string_pretty(&DepthFrame::decode(input).context(ctx)?),
        MsgType::Status => {
            serde_json::to_string_pretty(&ControllerStatus::decode(input).context(ctx)?)
        }
        MsgType::Command => {
            serde_json::to_string_pretty(&ControllerCommand::decode(input).context(ctx)?)
        }
        MsgType::SimRequest => {
            serde_json::to_string_pretty(&SimRequest::decode(input).context(ctx)?)
        }
    };
    Ok(json?)
}
