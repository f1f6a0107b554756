//! Printer groups (打印机组): sets of print points with their own admins (FAQ Q19).

use super::*;

impl PrintPointService {
    pub async fn create_group(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        name: &str,
    ) -> Result<PrinterGroup, PrintPointError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let name = Name::parse(name).map_err(invalid("name"))?.into_string();
        if !actor.is_super() {
            return Err(PrintPointError::Forbidden);
        }
        let g = PrinterGroupRow { id: new_id(), enterprise_id: enterprise.id, name, created_at: now_ms() };
        match self.repo.insert_group(&g).await {
            Ok(()) => Ok(g.into()),
            Err(e) if is_unique_violation(&e) => Err(PrintPointError::GroupNameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// The enterprise's groups with their print points and admins.
    pub async fn groups(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
    ) -> Result<Vec<GroupDetail>, PrintPointError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let admin_groups = self.repo.groups_of_admin(&actor.admin_id).await?;
        let memberships = self.repo.memberships(&enterprise.id).await?;
        // The print points this admin sees: a group lists only those (region admins), and a
        // region admin sees a group only when some of its print points are in their regions.
        let mut seen = Vec::new();
        for (row, path) in self.repo.of_enterprise(&enterprise.id).await? {
            let groups: Vec<String> =
                memberships.iter().filter(|(p, _)| *p == row.id).map(|(_, g)| g.clone()).collect();
            if Self::visible(actor, &path, &groups, &admin_groups) {
                seen.push(row.id);
            }
        }
        let mut out = Vec::new();
        for g in self.repo.groups_of(&enterprise.id).await? {
            if !admin_groups.is_empty() && !admin_groups.contains(&g.id) {
                continue;
            }
            let points: Vec<String> = memberships
                .iter()
                .filter(|(p, gid)| *gid == g.id && seen.contains(p))
                .map(|(p, _)| p.clone())
                .collect();
            if actor.role == AdminRole::Region && points.is_empty() {
                continue;
            }
            let admins = self.repo.admins_of_group(&g.id).await?;
            out.push(GroupDetail { group: g.into(), print_point_ids: points, admin_ids: admins });
        }
        Ok(out)
    }

    /// Sets a group's print points and admins (super admins in scope). Print points must be
    /// the enterprise's; admins must be the enterprise's own, non-super admins.
    pub async fn set_group(
        &self,
        actor: &AdminPrincipal,
        group_id: &str,
        print_point_ids: Option<Vec<String>>,
        admin_ids: Option<Vec<String>>,
    ) -> Result<GroupDetail, PrintPointError> {
        let group = self.repo.group(group_id).await?.ok_or(PrintPointError::NotFound)?;
        let enterprise = self.tenants.enterprise(actor, &group.enterprise_id).await.map_err(|e| match e {
            TenantError::NotFound => PrintPointError::NotFound,
            e => e.into(),
        })?;
        if !actor.is_super() {
            return Err(PrintPointError::Forbidden);
        }
        let distinct = |ids: Option<Vec<String>>| {
            ids.map(|mut ids| {
                ids.sort();
                ids.dedup();
                ids
            })
        };
        let (print_point_ids, admin_ids) = (distinct(print_point_ids), distinct(admin_ids));
        self.repo
            .set_group(&group.id, &enterprise.id, print_point_ids.as_deref(), admin_ids.as_deref())
            .await?
            .map_err(|members| PrintPointError::UnknownReference { field: members.field() })?;
        let points = self.repo.memberships(&enterprise.id).await?;
        let points = points.into_iter().filter(|(_, g)| *g == group.id).map(|(p, _)| p).collect();
        let admins = self.repo.admins_of_group(&group.id).await?;
        Ok(GroupDetail { group: group.into(), print_point_ids: points, admin_ids: admins })
    }
}
