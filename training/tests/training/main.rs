//! Integration tests of vigor-training, one binary: demonstrations, the teacher and the student.

mod demos;
mod feasibility;
mod student;
mod student_symmetry;
mod teacher;
mod teacher_eval;
mod teacher_tracks;
