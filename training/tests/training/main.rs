//! Integration tests of vigor-training, one binary: demonstrations, the teacher and the student.

mod demos;
mod student;
mod teacher;
