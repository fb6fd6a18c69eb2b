//! [`Status`]: Kite's order statuses and the paths an order takes through them.
//!
//! The sim walks every order through the transient states real orders show in their
//! history (`GET /orders/{id}`), so clients that poll see what they would see at Kite.

/// An order status, spelled as Kite spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// First state of every regular order.
    PutOrderReqReceived,
    /// Being checked by the RMS.
    ValidationPending,
    /// Sent to the exchange.
    OpenPending,
    /// Resting on the exchange.
    Open,
    /// A stop order waiting for its trigger.
    TriggerPending,
    /// Modification received.
    ModifyValidationPending,
    /// Modification sent to the exchange.
    ModifyPending,
    /// Modification done (the order then shows OPEN or TRIGGER PENDING again).
    Modified,
    /// Cancellation sent.
    CancelPending,
    /// An after-market order waiting for the market to open.
    AmoReqReceived,
    /// Filled completely.
    Complete,
    /// Cancelled.
    Cancelled,
    /// Rejected by the RMS or the exchange.
    Rejected,
}

impl Status {
    /// Kite's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PutOrderReqReceived => "PUT ORDER REQ RECEIVED",
            Status::ValidationPending => "VALIDATION PENDING",
            Status::OpenPending => "OPEN PENDING",
            Status::Open => "OPEN",
            Status::TriggerPending => "TRIGGER PENDING",
            Status::ModifyValidationPending => "MODIFY VALIDATION PENDING",
            Status::ModifyPending => "MODIFY PENDING",
            Status::Modified => "MODIFIED",
            Status::CancelPending => "CANCEL PENDING",
            Status::AmoReqReceived => "AMO REQ RECEIVED",
            Status::Complete => "COMPLETE",
            Status::Cancelled => "CANCELLED",
            Status::Rejected => "REJECTED",
        }
    }

    /// Whether the order can still fill, be modified or be cancelled.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Status::Open | Status::TriggerPending | Status::AmoReqReceived
        )
    }

    /// Whether nothing more can happen to the order.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Complete | Status::Cancelled | Status::Rejected
        )
    }

    /// The status a postback carries for this one, if postbacks are sent for it.
    /// Kite posts COMPLETE, CANCELLED, REJECTED, and UPDATE for modifications.
    pub fn postback(self) -> Option<&'static str> {
        match self {
            Status::Complete => Some("COMPLETE"),
            Status::Cancelled => Some("CANCELLED"),
            Status::Rejected => Some("REJECTED"),
            Status::Modified => Some("UPDATE"),
            _ => None,
        }
    }
}

/// The states an accepted order passes through before it rests.
pub const PLACEMENT: [Status; 3] = [
    Status::PutOrderReqReceived,
    Status::ValidationPending,
    Status::OpenPending,
];

/// The states a modification passes through before the order rests again.
pub const MODIFICATION: [Status; 3] = [
    Status::ModifyValidationPending,
    Status::ModifyPending,
    Status::Modified,
];
