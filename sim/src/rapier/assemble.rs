//! Building the rapier world from a [`Robot`] and a ground.

use rapier3d::na::{Isometry3, Unit, UnitQuaternion};
use rapier3d::prelude::*;

use super::{JointCommand, RapierSim};
use crate::robot::{Attachment, Robot, Shape};

/// Collision group of the robot's colliders.
const ROBOT_GROUP: Group = Group::GROUP_1;
/// Collision group of the ground.
const GROUND_GROUP: Group = Group::GROUP_2;

/// Physics settings of one world.
#[derive(Debug, Clone, PartialEq)]
pub struct PhysicsParams {
    /// Physics step, s.
    pub dt_s: f32,
    /// Constraint solver iterations per step.
    pub solver_iterations: usize,
    /// Whether the robot's links collide with each other (parent-child pairs never do).
    pub self_collision: bool,
    /// Friction coefficient of every contact.
    pub friction: f32,
    /// Restitution of every contact.
    pub restitution: f32,
    /// How joints are simulated.
    pub joints: JointModel,
    /// PD part of the motor law solved implicitly by rapier's joint motors (force-based spring
    /// with the command's kp, kd, q*, dq* and the effort limit) instead of explicit torques
    /// computed from the state at the start of the step; `tau_ff` stays explicit.
    pub implicit_motors: bool,
}

/// Reduced or maximal coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointModel {
    /// Reduced coordinates (rapier's multibody): joints exact by construction, armature and joint
    /// friction supported.
    Multibody,
    /// Maximal coordinates (rapier's impulse joints): every link a free body held by joint
    /// constraints; seven to twelve times faster, but armature and joint friction cannot be
    /// represented, and it fails the fidelity checks (`vigor bench sim --study`): the held robot
    /// topples with explicit PD and with implicit motors, at 1 to 8 solver iterations, with joint
    /// warm-starting and extra PGS iterations. The 74 g ankle-pitch link (inertia 2e-5 kg·m²)
    /// between the shank and the foot, which carries the whole body, is what the solver cannot
    /// hold; implicit motors or inflated small-link inertia stop a lying robot drifting but not
    /// the standing one toppling. Kept for the study; not for use.
    Impulse,
}

impl Default for PhysicsParams {
    fn default() -> Self {
        Self {
            dt_s: 0.002,
            solver_iterations: 4,
            self_collision: false,
            friction: 1.0,
            restitution: 0.0,
            joints: JointModel::Multibody,
            implicit_motors: false,
        }
    }
}

/// What the robot stands on.
#[derive(Debug, Clone, PartialEq)]
pub enum Ground {
    /// The plane z = 0.
    Flat,
    /// A height field (a generated terrain's): rapier collides with its triangle mesh, MuJoCo
    /// with a height field of the same samples.
    Field(crate::terrain::HeightField),
    /// A triangle mesh (z up). Rapier only: MuJoCo would collide with its convex hull.
    Mesh {
        /// Vertices, m.
        vertices: Vec<[f32; 3]>,
        /// Triangles as vertex indices.
        triangles: Vec<[u32; 3]>,
    },
}

fn to_pose(iso: &Isometry3<f64>) -> Pose {
    let t = iso.translation.vector;
    let q = iso.rotation;
    Pose::from_parts(
        Vector::new(t.x as f32, t.y as f32, t.z as f32),
        Rotation::from_xyzw(q.i as f32, q.j as f32, q.k as f32, q.w as f32).normalize(),
    )
}

fn v(p: &rapier3d::na::Point3<f64>) -> Vector {
    Vector::new(p.x as f32, p.y as f32, p.z as f32)
}

/// The link's inertial with mass and inertia scaled by `scale`.
pub(super) fn mass_properties(link: &crate::robot::Link, scale: f32) -> MassProperties {
    let frame = link.inertia_frame;
    let d = link.inertia_diag;
    MassProperties::with_principal_inertia_frame(
        v(&link.com),
        link.mass as f32 * scale,
        Vector::new(d.x as f32, d.y as f32, d.z as f32) * scale,
        Rotation::from_xyzw(
            frame.i as f32,
            frame.j as f32,
            frame.k as f32,
            frame.w as f32,
        )
        .normalize(),
    )
}

/// A rotation taking the x axis onto `axis` (unit).
fn x_to(axis: Vector) -> Rotation {
    Rotation::from_rotation_arc(Vector::X, axis)
}

pub(super) fn to_pose_f32(iso: &Isometry3<f64>) -> Pose {
    to_pose(iso)
}

pub(super) fn assemble(robot: &Robot, ground: &Ground, params: &PhysicsParams) -> RapierSim {
    let mut world = PhysicsWorld {
        gravity: Vector::new(0.0, 0.0, -9.81),
        ..PhysicsWorld::default()
    };
    world.integration_parameters.dt = params.dt_s;
    world.integration_parameters.num_solver_iterations = params.solver_iterations.max(1);

    let ground_filter = InteractionGroups::new(GROUND_GROUP, ROBOT_GROUP, InteractionTestMode::And);
    let mesh = |vertices: &[[f32; 3]], triangles: Vec<[u32; 3]>| {
        let verts = vertices
            .iter()
            .map(|p| Vector::new(p[0], p[1], p[2]))
            .collect();
        ColliderBuilder::trimesh(verts, triangles)
            .unwrap_or_else(|_| ColliderBuilder::halfspace(Unit::new_unchecked(Vector::Z)))
    };
    let ground_collider = match ground {
        Ground::Flat => ColliderBuilder::halfspace(Unit::new_unchecked(Vector::Z)),
        Ground::Field(field) => {
            let (vertices, triangles) = field.mesh();
            mesh(&vertices, triangles)
        }
        Ground::Mesh {
            vertices,
            triangles,
        } => mesh(vertices, triangles.clone()),
    };
    let ground = world.colliders.insert(
        ground_collider
            .collision_groups(ground_filter)
            .friction(params.friction)
            .restitution(params.restitution),
    );

    // Links at their default-pose world frames, lowest point 1 mm above z = 0.
    let q0 = robot.default_pose();
    let root = robot.links[0].offset;
    let poses = robot.forward_kinematics(&root, &q0);
    let robot_filter = if params.self_collision {
        InteractionGroups::new(
            ROBOT_GROUP,
            GROUND_GROUP | ROBOT_GROUP,
            InteractionTestMode::And,
        )
    } else {
        InteractionGroups::new(ROBOT_GROUP, GROUND_GROUP, InteractionTestMode::And)
    };
    let mut link_bodies = Vec::with_capacity(robot.links.len());
    let mut collider_links = std::collections::HashMap::new();
    for (link, pose) in robot.links.iter().zip(&poses) {
        let mprops = mass_properties(link, 1.0);
        let body = RigidBodyBuilder::dynamic()
            .pose(to_pose(pose))
            .additional_mass_properties(mprops)
            .can_sleep(false)
            .build();
        let handle = world.bodies.insert(body);
        for c in &link.colliders {
            let builder = match &c.shape {
                Shape::Capsule { a, b, radius } => {
                    ColliderBuilder::capsule_from_endpoints(v(a), v(b), *radius as f32)
                }
                Shape::Sphere { centre, radius } => {
                    ColliderBuilder::ball(*radius as f32).translation(v(centre))
                }
                Shape::Cuboid {
                    centre,
                    half_extents: h,
                } => ColliderBuilder::cuboid(h.x as f32, h.y as f32, h.z as f32)
                    .translation(v(centre)),
            };
            let collider = builder
                .density(0.0)
                .collision_groups(robot_filter)
                .friction(params.friction)
                .restitution(params.restitution)
                .build();
            let ch = world
                .colliders
                .insert_with_parent(collider, handle, &mut world.bodies);
            collider_links.insert(ch, link_bodies.len());
        }
        link_bodies.push(handle);
    }

    let mut joint_links = vec![0; robot.joints.len()];
    let mut joint_parents = vec![0; robot.joints.len()];
    let mut joint_axes = vec![Vector::X; robot.joints.len()];
    let mut impulse_joints = vec![None; robot.joints.len()];
    for (i, link) in robot.links.iter().enumerate() {
        let Some(parent) = link.parent else { continue };
        let offset = to_pose(&link.offset);
        let data: GenericJoint = match link.attachment {
            Attachment::Revolute(j) => {
                let joint = &robot.joints[j];
                let axis = Vector::new(
                    joint.axis.x as f32,
                    joint.axis.y as f32,
                    joint.axis.z as f32,
                );
                joint_links[j] = i;
                joint_parents[j] = parent;
                joint_axes[j] = axis;
                let align = Pose::from_rotation(x_to(axis));
                GenericJointBuilder::new(JointAxesMask::LOCKED_REVOLUTE_AXES)
                    .local_frame1(offset * align)
                    .local_frame2(align)
                    .limits(JointAxis::AngX, [joint.lower as f32, joint.upper as f32])
                    .contacts_enabled(false)
                    .build()
            }
            _ => GenericJointBuilder::new(JointAxesMask::LOCKED_FIXED_AXES)
                .local_frame1(offset)
                .contacts_enabled(false)
                .build(),
        };
        match params.joints {
            JointModel::Multibody => {
                world
                    .multibody_joints
                    .insert(link_bodies[parent], link_bodies[i], data, true);
            }
            JointModel::Impulse => {
                let handle =
                    world
                        .impulse_joints
                        .insert(link_bodies[parent], link_bodies[i], data, true);
                if let Attachment::Revolute(j) = link.attachment {
                    impulse_joints[j] = Some(handle);
                }
            }
        }
    }

    let mut sim = RapierSim {
        world,
        ground,
        collider_links,
        pushes: Vec::new(),
        contact_forces: vec![[0.0; 3]; robot.links.len()],
        link_bodies,
        joint_links,
        joint_parents,
        joint_axes,
        effort: robot.joints.iter().map(|j| j.effort as f32).collect(),
        strength: vec![1.0; robot.joints.len()],
        commands: robot
            .joints
            .iter()
            .map(|j| JointCommand {
                q: j.default as f32,
                dq: 0.0,
                kp: j.kp as f32,
                kd: j.kd as f32,
                tau_ff: 0.0,
            })
            .collect(),
        applied: vec![0.0; robot.joints.len()],
        prev_pelvis_linvel: Vector::ZERO,
        pelvis_accel: Vector::ZERO,
        time_s: 0.0,
        robot: robot.clone(),
        joint_model: params.joints,
        implicit_motors: params.implicit_motors,
        impulse_joints,
        offsets: robot.links.iter().map(|l| to_pose(&l.offset)).collect(),
    };
    sim.configure_multibody(robot, params.self_collision);
    let lowest = sim.lowest_point_at(&root, &q0);
    let lifted = Isometry3::from_parts(
        rapier3d::na::Translation3::new(
            root.translation.x,
            root.translation.y,
            root.translation.z - lowest + 0.001,
        ),
        UnitQuaternion::from_quaternion(*root.rotation.quaternion()),
    );
    sim.reset(&lifted, &q0);
    sim
}
