//! Commands decided on the state a process holds for a stream, against two processes (two
//! stores on one database, each with its held states) writing to the same streams: what
//! one holds goes stale when the other writes, and no command may be stored or answered
//! from a stale state. On both backends (PostgreSQL with `DATABASE_URL`).

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use chrono::Utc;
use pharos_decider::{Decider, Rejection, execute, execute_linked, execute_with, held};
use pharos_eventstore::{EventStore, Metadata, StoreError, StoreOptions, StreamId};
use pharos_test_support::TestDb;
use serde::{Deserialize, Serialize};

/// A room of one seat.
struct Room;

#[derive(Debug, Clone, Default)]
struct RoomState {
    taken: bool,
    /// Every event folded, to compare with a state read from the stream.
    seen: Vec<String>,
}

#[derive(Debug, Clone)]
enum Command {
    Take(String),
    Free(String),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Taken { by: String },
    Freed { by: String },
}

impl Decider for Room {
    type State = RoomState;
    type Command = Command;
    type Event = Event;

    fn evolve(mut state: RoomState, event: &Event) -> RoomState {
        match event {
            Event::Taken { by } => {
                state.taken = true;
                state.seen.push(format!("+{by}"));
            }
            Event::Freed { by } => {
                state.taken = false;
                state.seen.push(format!("-{by}"));
            }
        }
        state
    }

    fn decide(
        command: &Command,
        state: &RoomState,
        _: chrono::DateTime<Utc>,
    ) -> Result<Vec<Event>, Rejection> {
        match command {
            Command::Take(_) if state.taken => Err(Rejection::conflict("room.full", "occupée")),
            Command::Take(by) => Ok(vec![Event::Taken { by: by.clone() }]),
            // Freeing a free room is done already: nothing to append.
            Command::Free(_) if !state.taken => Ok(Vec::new()),
            Command::Free(by) => Ok(vec![Event::Freed { by: by.clone() }]),
        }
    }
}

/// A second aggregate for the linked commands: who holds a seat somewhere.
struct Guest;

impl Decider for Guest {
    type State = RoomState;
    type Command = Command;
    type Event = Event;

    fn evolve(state: RoomState, event: &Event) -> RoomState {
        Room::evolve(state, event)
    }

    fn decide(
        command: &Command,
        state: &RoomState,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<Event>, Rejection> {
        Room::decide(command, state, now)
    }
}

#[derive(Debug)]
enum Failure {
    Refused(Rejection),
    // Read through `Debug` when a command fails.
    #[allow(dead_code)]
    Store(StoreError),
}

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Self {
        Self::Refused(r)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// `command` on `stream` as decider `D`.
async fn exec<D: Decider<Command = Command, Event = Event>>(
    store: &EventStore,
    stream: &StreamId,
    command: Command,
) -> Result<pharos_decider::Executed<Event>, Failure> {
    execute::<D, Failure>(
        store,
        stream,
        &command,
        Utc::now(),
        None,
        &Metadata::default(),
    )
    .await
}

/// The room's version after `command`.
async fn run(store: &EventStore, room: &StreamId, command: Command) -> Result<i64, Failure> {
    exec::<Room>(store, room, command)
        .await
        .map(|done| done.version)
}

/// What a read of the stream gives.
async fn read(store: &EventStore, room: &StreamId) -> RoomState {
    pharos_decider::load::<Room>(store, room).await.unwrap().0
}

async fn two_processes_never_decide_on_a_stale_state(db: TestDb) {
    let options = || StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    };
    let one = EventStore::connect(&db.url, options()).await.unwrap();
    one.migrate().await.unwrap();
    let other = EventStore::connect(&db.url, options()).await.unwrap();
    let room = StreamId::new("room", "a").unwrap();

    // One takes the seat and holds the room as taken; the other frees it.
    assert_eq!(
        run(&one, &room, Command::Take("un".into())).await.unwrap(),
        1
    );
    assert_eq!(
        run(&other, &room, Command::Free("autre".into()))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        (
            held::version::<Room>(&one, &room),
            held::version::<Room>(&other, &room)
        ),
        (Some(1), Some(2)),
        "each process holds the state it decided on last"
    );
    // One's held state says taken, and would refuse: it is read again and the seat taken.
    assert_eq!(
        run(&one, &room, Command::Take("un".into())).await.unwrap(),
        3,
        "a refusal on a held state is decided again on the stream"
    );
    // The other holds the room as free at version 2: its append fails the version check,
    // and the room read again is full.
    match run(&other, &room, Command::Take("autre".into())).await {
        Err(Failure::Refused(r)) => assert_eq!(r.rule, "room.full"),
        found => panic!("the other should be refused on the stream's state: {found:?}"),
    }
    // Freed by the other: one holds it as taken, and freeing it again is not "done
    // already" but done now.
    assert_eq!(
        run(&other, &room, Command::Free("autre".into()))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        run(&one, &room, Command::Take("un".into())).await.unwrap(),
        5
    );
    assert_eq!(
        run(&other, &room, Command::Free("autre".into()))
            .await
            .unwrap(),
        6
    );
    let done = exec::<Room>(&one, &room, Command::Free("un".into()))
        .await
        .unwrap();
    assert_eq!(
        (done.version, done.events.len()),
        (6, 0),
        "nothing to do, answered at the stream's version"
    );
    // An If-Match of the stream's version, where one holds an older one: accepted.
    assert_eq!(
        run(&other, &room, Command::Take("autre".into()))
            .await
            .unwrap(),
        7
    );
    let done = execute_with::<Room, Failure>(
        &one,
        &room,
        Utc::now(),
        Some(7),
        &Metadata::default(),
        |_| Ok(Cow::Owned(Command::Free("un".into()))),
    )
    .await
    .unwrap();
    assert_eq!(done.version, 8);
    // What each process holds is what the stream says: the next commands fold on it.
    assert_eq!(
        run(&one, &room, Command::Take("un".into())).await.unwrap(),
        9
    );
    let expected = read(&one, &room).await;
    assert_eq!(
        expected.seen,
        [
            "+un", "-autre", "+un", "-autre", "+un", "-autre", "+autre", "-un", "+un"
        ]
    );

    // Linked: a guest and a room, both held by one; the other changes the room only.
    let (hall, guest) = (
        StreamId::new("room", "b").unwrap(),
        StreamId::new("guest", "g").unwrap(),
    );
    let linked = |store: EventStore, command: Command| {
        let (hall, guest) = (hall.clone(), guest.clone());
        async move {
            execute_linked::<Room, Guest, Failure>(
                &store,
                (&hall, &guest),
                &Metadata::default(),
                |room, guest| {
                    Ok((
                        Room::decide(&command, room, Utc::now())?,
                        Guest::decide(&command, guest, Utc::now())?,
                        Default::default(),
                    ))
                },
            )
            .await
            .map(|(room, guest)| (room.version, guest.version))
        }
    };
    assert_eq!(
        linked(one.clone(), Command::Take("g".into()))
            .await
            .unwrap(),
        (1, 1)
    );
    assert_eq!(
        run(&other, &hall, Command::Free("autre".into()))
            .await
            .unwrap(),
        2
    );
    // One holds the hall as taken and would free it again: the append fails the hall's
    // version check; read again, the hall is free already and the guest alone is freed.
    assert_eq!(
        linked(one.clone(), Command::Free("g".into()))
            .await
            .unwrap(),
        (2, 2)
    );
    assert_eq!(read(&one, &hall).await.seen, ["+g", "-autre"]);
    // What one holds now is the streams': the next decision on it is stored.
    assert_eq!(
        linked(one.clone(), Command::Take("g".into()))
            .await
            .unwrap(),
        (3, 3)
    );
    assert_eq!(
        (
            held::version::<Room>(&one, &hall),
            held::version::<Guest>(&one, &guest)
        ),
        (Some(3), Some(3))
    );
    // A decision on held states that writes one stream only: the other's version is not
    // checked by the append, so it is decided again on both streams as read.
    assert_eq!(
        linked(one.clone(), Command::Free("g".into()))
            .await
            .unwrap(),
        (4, 4)
    );
    exec::<Guest>(&one, &guest, Command::Take("g".into()))
        .await
        .unwrap();
    assert_eq!(
        run(&other, &hall, Command::Take("autre".into()))
            .await
            .unwrap(),
        5
    );
    // One holds the hall as free (it is taken) and the guest as taken: on the held states
    // only the guest would be freed; on the streams, both are.
    assert_eq!(
        linked(one.clone(), Command::Free("g".into()))
            .await
            .unwrap(),
        (6, 6)
    );
    one.close().await;
    other.close().await;
    db.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-decider-held";
    two_processes_never_decide_on_a_stale_state,
);
