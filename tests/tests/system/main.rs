//! The system tests, one binary (one link of the whole stack): each module runs real `vigor`
//! processes and checks what they print, write and publish.

mod controller;
mod demo;
mod demos;
mod deploy;
mod distributed;
mod faults;
mod perception;
mod recording;
mod train;
