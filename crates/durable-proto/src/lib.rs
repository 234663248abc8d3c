//! Sans-IO replay engine for AWS Lambda durable functions.
