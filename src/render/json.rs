//! JSON documents for programs (schemas: docs/json.md and docs/schema/):
//! the scan with its plan, `why` and `explain`.

use std::io::{self, Write};

use super::why_target;
use crate::copyset::CopyItem;
use crate::diagnose::Diagnosis;
use crate::plan::PlanReport;
use crate::scan::ScanReport;
use crate::why::WhyReport;

/// The scan report as JSON (schema: docs/json.md), with the plan when
/// there is one.
pub fn scan_json(out: &mut dyn Write, r: &ScanReport, plan: Option<&PlanReport>) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        report: &'a ScanReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        plan: Option<PlanDoc<'a>>,
    }
    #[derive(serde::Serialize)]
    struct PlanDoc<'a> {
        #[serde(flatten)]
        plan: &'a PlanReport,
        loads: bool,
        verdict: crate::plan::Verdict,
    }
    let doc = Doc {
        schema: "ldslim.scan/2",
        report: r,
        plan: plan.map(|p| PlanDoc {
            plan: p,
            loads: p.verdict() == crate::plan::Verdict::Loads,
            verdict: p.verdict(),
        }),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// `why` as JSON.
pub fn why_json(
    out: &mut dyn Write,
    w: &WhyReport,
    plan: Option<&PlanReport>,
    in_target: Option<&str>,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        why: &'a WhyReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<&'a str>,
        /// Where the target has it (absent when it lacks it).
        #[serde(skip_serializing_if = "Option::is_none")]
        in_target: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        copy: Option<Vec<&'a CopyItem>>,
    }
    let doc = Doc {
        schema: "ldslim.why/2",
        why: w,
        target: plan.map(|p| p.target.as_str()),
        in_target: plan.and(in_target),
        copy: plan.map(|p| why_target(w, p)),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// `explain` as JSON.
pub fn explain_json(out: &mut dyn Write, answers: &[Diagnosis]) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        failures: &'a [Diagnosis],
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Doc {
            schema: "ldslim.explain/1",
            failures: answers,
        },
    )
    .map_err(io::Error::other)?;
    writeln!(out)
}
