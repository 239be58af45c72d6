"""Grounds for deleting a compulsory-school-age pupil from the admission register: regulation
9(1)(a) to (o) of the School Attendance (Pupil Registration) (England) Regulations 2024.

A deletion on any other ground risks off-rolling, so the register refuses it.
"""

from enum import StrEnum


class DeletionGround(StrEnum):
    A_REGISTERED_ELSEWHERE = "a"
    B_NURSERY_NOT_CONTINUING = "b"
    C_DUAL_REGISTRATION_ENDED = "c"
    D_ATTENDANCE_ORDER_AMENDED = "d"
    E_ATTENDANCE_ORDER_REVOKED = "e"
    F_ELECTIVE_HOME_EDUCATION = "f"
    G_MOVED_BEYOND_REASONABLE_DISTANCE = "g"
    H_NOT_RETURNED_AFTER_LEAVE = "h"
    I_CONTINUOUSLY_ABSENT_20_DAYS = "i"
    J_DETAINED = "j"
    K_DIED = "k"
    L_OVER_COMPULSORY_AGE = "l"
    M_BOARDING_FEES_UNPAID = "m"
    N_LEFT_INDEPENDENT_SCHOOL = "n"
    O_PERMANENTLY_EXCLUDED = "o"


DELETION_GROUNDS: dict[DeletionGround, str] = {
    DeletionGround.A_REGISTERED_ELSEWHERE: "registered at another school",
    DeletionGround.B_NURSERY_NOT_CONTINUING: "finished nursery and not continuing into reception",
    DeletionGround.C_DUAL_REGISTRATION_ENDED: "dual registration ended with the other schools' consent",
    DeletionGround.D_ATTENDANCE_ORDER_AMENDED: "school attendance order amended to name another school",
    DeletionGround.E_ATTENDANCE_ORDER_REVOKED: "school attendance order revoked: suitable education otherwise",
    DeletionGround.F_ELECTIVE_HOME_EDUCATION: "parent notified in writing: educated otherwise than at school",
    DeletionGround.G_MOVED_BEYOND_REASONABLE_DISTANCE: "no longer lives within reasonable distance",
    DeletionGround.H_NOT_RETURNED_AFTER_LEAVE: "not returned 10 school days after leave ended; whereabouts unknown",
    DeletionGround.I_CONTINUOUSLY_ABSENT_20_DAYS: "continuously absent 20 school days; whereabouts unknown",
    DeletionGround.J_DETAINED: "detained under a sentence of detention",
    DeletionGround.K_DIED: "has died",
    DeletionGround.L_OVER_COMPULSORY_AGE: "over compulsory school age, not continuing into the sixth form",
    DeletionGround.M_BOARDING_FEES_UNPAID: "boarder whose boarding fees are unpaid",
    DeletionGround.N_LEFT_INDEPENDENT_SCHOOL: "no longer a pupil at an independent or non-maintained special school",
    DeletionGround.O_PERMANENTLY_EXCLUDED: "permanently excluded",
}
