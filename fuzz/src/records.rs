//! Arbitrary descriptions of what the service reports: ARNs, EXECUTION records, operation
//! records with any type, status, name, attempt and timestamp, page markers and tokens.

use arbitrary::Arbitrary;
use durable_proto::{
    Operation, OperationStatus, OperationType, StepDetails, Timestamp, WaitDetails,
};

use crate::gen::{ErrorSpec, Name};

#[derive(Arbitrary, Debug)]
pub enum Arn {
    Real,
    Emulator,
    Bare,
    Segment(u16),
}

impl Arn {
    pub fn get(&self) -> (String, String) {
        let id = match self {
            Arn::Real => "exec-1".to_owned(),
            Arn::Emulator => "3a9d9895-63a5-4b8f-9f2e-0c5b7c0f7d11".to_owned(),
            Arn::Bare => "e".to_owned(),
            Arn::Segment(n) => format!("x_{n}"),
        };
        let arn = match self {
            Arn::Real => format!(
                "arn:aws:lambda:us-east-1:123456789012:function:f:1/durable-execution/run/{id}"
            ),
            Arn::Emulator => format!("64418a57-1c1f-4b6e-8d0c-2b7c3f1e9a00/{id}"),
            _ => id.clone(),
        };
        (arn, id)
    }
}

#[derive(Arbitrary, Debug)]
pub enum ExecOp {
    Matching {
        status: Status,
        input: Option<String>,
    },
    /// An EXECUTION operation whose id is not the ARN's last segment.
    OtherId {
        status: Status,
    },
    Missing,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Marker {
    M1,
    M2,
    Empty,
    Text(String),
}

impl Marker {
    pub fn get(m: &Option<Marker>) -> Option<String> {
        m.as_ref().map(|m| match m {
            Marker::M1 => "m1".into(),
            Marker::M2 => "m2".into(),
            Marker::Empty => String::new(),
            Marker::Text(t) => t.clone(),
        })
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum OpId {
    N(u8),
    Execution,
    Text(String),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Type {
    Step,
    Wait,
    Execution,
    Context,
    Callback,
    Unknown(String),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Status {
    Started,
    Pending,
    Ready,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    Stopped,
    Unknown(String),
}

impl Status {
    pub fn get(&self) -> OperationStatus {
        OperationStatus::from(match self {
            Status::Started => "STARTED",
            Status::Pending => "PENDING",
            Status::Ready => "READY",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
            Status::TimedOut => "TIMED_OUT",
            Status::Stopped => "STOPPED",
            Status::Unknown(s) => s,
        })
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum SubType {
    Matching,
    None,
    Other(String),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Attempt {
    Small(u8),
    Any(u32),
}

/// One operation record as the service might report it.
#[derive(Arbitrary, Debug, Clone)]
pub struct ArbOp {
    pub id: OpId,
    pub op_type: Type,
    pub status: Status,
    pub name: Name,
    pub sub_type: SubType,
    pub parent: Option<OpId>,
    pub attempt: Option<Attempt>,
    pub result: Option<String>,
    pub error: Option<ErrorSpec>,
    pub timestamp: Option<i64>,
}

impl ArbOp {
    pub fn build(&self, exec_id: &str) -> Operation {
        let id = |o: &OpId| match o {
            OpId::N(n) => (n % 6 + 1).to_string(),
            OpId::Execution => exec_id.to_owned(),
            OpId::Text(t) => t.clone(),
        };
        let (op_type, sub) = match &self.op_type {
            Type::Step => (OperationType::Step, "Step"),
            Type::Wait => (OperationType::Wait, "Wait"),
            Type::Execution => (OperationType::Execution, ""),
            Type::Context => (OperationType::Context, "RunInChildContext"),
            Type::Callback => (OperationType::Callback, "Callback"),
            Type::Unknown(t) => (OperationType::from(t.as_str()), "Other"),
        };
        let is_step = op_type == OperationType::Step;
        Operation {
            id: id(&self.id),
            parent_id: self.parent.as_ref().map(id),
            name: self.name.get(),
            sub_type: match &self.sub_type {
                SubType::Matching => (!sub.is_empty()).then(|| sub.to_owned()),
                SubType::None => None,
                SubType::Other(s) => Some(s.clone()),
            },
            operation_type: op_type.clone(),
            start_timestamp: self.timestamp.map(Timestamp),
            end_timestamp: None,
            status: self.status.get(),
            execution_details: None,
            context_details: None,
            step_details: self
                .attempt
                .as_ref()
                .filter(|_| is_step)
                .map(|a| {
                    Box::new(StepDetails {
                        attempt: match *a {
                            Attempt::Small(n) => u32::from(n),
                            Attempt::Any(n) => n,
                        },
                        next_attempt_timestamp: self.timestamp.map(Timestamp),
                        result: self.result.clone(),
                        error: self.error.as_ref().map(|e| e.build(1024)),
                    })
                }),
            wait_details: (op_type == OperationType::Wait).then(|| {
                Box::new(WaitDetails {
                    scheduled_end_timestamp: self.timestamp.map(Timestamp),
                })
            }),
            callback_details: None,
            chained_invoke_details: None,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Token {
    Fresh,
    Missing,
    Empty,
    Text(String),
}
