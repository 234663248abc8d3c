//! Callbacks in the engine: the id is service-issued, so the invocation must not suspend
//! before it reaches user code, even when it is on a later page of the response.

use std::time::Duration;

use super::*;

fn request() -> CallbackRequest<'static> {
    CallbackRequest {
        name: Some("approval"),
        timeout: Some(Duration::from_millis(1_500)),
        heartbeat_timeout: None,
    }
}

#[test]
fn a_callback_id_on_a_later_response_page_is_read_before_the_invocation_suspends() {
    let mut svc = FakeService::with_page_size("{}", 1);
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    // Created together (as `join!` would), then awaited: a blocked wait beside the callback.
    let WaitStart::Blocked { op: wait } = exec
        .begin_wait(ContextRef::ROOT, Some("w"), Duration::from_secs(10))
        .unwrap()
    else {
        panic!("a new wait blocks")
    };
    let CallbackStart::Creating { op: callback } =
        exec.begin_callback(ContextRef::ROOT, request()).unwrap()
    else {
        panic!("a new callback waits for its id")
    };
    exec.activate(wait);
    exec.activate(callback);
    assert!(!exec.should_suspend(), "the callback's id is on its way");
    let Some(ServiceRequest::Checkpoint {
        checkpoint_token,
        updates,
    }) = exec.poll_request()
    else {
        panic!("the STARTs go out")
    };
    let start = updates
        .iter()
        .find(|u| u.id == "2")
        .expect("callback START");
    assert_eq!(start.operation_type, OperationType::Callback);
    assert_eq!(start.sub_type.as_deref(), Some(CALLBACK_SUB_TYPE));
    assert_eq!(
        start
            .callback_options
            .as_ref()
            .and_then(|o| o.timeout_seconds),
        Some(2),
        "timeouts are whole seconds, rounded up"
    );
    let response = svc.checkpoint(&checkpoint_token, updates);
    assert_eq!(
        response.new_execution_state.operations.len(),
        1,
        "paged by one"
    );
    assert!(response.new_execution_state.next_marker.is_some());
    exec.handle_checkpoint_response(response).unwrap();
    // The first page held the wait: the id is still to come, so no suspension yet.
    assert_eq!(exec.callback_id(callback), None);
    assert!(!exec.should_suspend());
    let Some(ServiceRequest::GetState {
        checkpoint_token,
        marker,
    }) = exec.poll_request()
    else {
        panic!("the next response page is read")
    };
    let page = svc.get_state(&checkpoint_token, &marker);
    exec.handle_state_page(page).unwrap();
    let recorded = svc.op("2").callback_details.as_ref().unwrap();
    assert_eq!(
        exec.callback_id(callback).as_deref(),
        recorded.callback_id.as_deref()
    );
    // The user code awaits the result: both branches wait on the service now.
    assert_eq!(exec.await_callback(callback).unwrap(), CallbackEnd::Blocked);
    assert!(exec.should_suspend());
}

#[test]
fn a_recorded_callback_replays_its_id_and_its_outcome() {
    let mut svc = FakeService::new("{}");
    let program = |ctx: &mut Ctx<'_>| -> Result<String, Stop> {
        let start = ctx
            .exec
            .begin_callback(ctx.context, request())
            .map_err(Stop::Fatal)?;
        let op = start.op();
        ctx.exec.activate(op);
        ctx.pump_now();
        let id = ctx
            .exec
            .callback_id(op)
            .expect("the id arrived")
            .into_owned();
        match ctx.exec.await_callback(op).map_err(Stop::Fatal)? {
            CallbackEnd::Blocked => Err(Stop::Suspended),
            CallbackEnd::Done(Ok(v)) => Ok(format!("\"{id}:{}\"", v.unwrap_or_default())),
            CallbackEnd::Done(Err(f)) => {
                Ok(format!("\"{id}:{:?}:{}\"", f.kind, f.error.type_name()))
            }
            other => panic!("{other:?}"),
        }
    };
    let first = invoke(&mut svc, ExecutionConfig::default(), &program);
    assert_eq!(first.output().status, InvocationStatus::Pending);
    let id = svc
        .op("1")
        .callback_details
        .as_ref()
        .unwrap()
        .callback_id
        .clone()
        .unwrap();
    svc.send_callback_failure(&id, ErrorObject::new("Rejected", "no"));
    let second = invoke(&mut svc, ExecutionConfig::default(), &program);
    assert_eq!(second.output().status, InvocationStatus::Succeeded);
    assert_eq!(
        second.output().result.as_deref(),
        Some(format!("\"{id}:Failed:Rejected\"").as_str())
    );
    // The only call is the first invocation's START: the replay found the callback on
    // record, and the result fits in the output.
    assert_eq!(svc.calls.len(), 1, "{:?}", svc.calls);
}
