"""三实 registries: actual houses (实有房屋), population (实有人口) and organisations (实有单位)."""

# QR door plates (二维码门楼牌), actual population (实有人口), houses (实有房屋) and organisations (实有单位);
# re-exported with "as", one name a line, in ruff's order
from citybase.domains.registry.grants import GrantService as GrantService
from citybase.domains.registry.house_service import HouseService as HouseService
from citybase.domains.registry.households import HouseholdService as HouseholdService
from citybase.domains.registry.houses import apply_house_update as apply_house_update
from citybase.domains.registry.new_building import NewBuildingApplier as NewBuildingApplier
from citybase.domains.registry.org_service import OrgService as OrgService
from citybase.domains.registry.people import PeopleService as PeopleService
from citybase.domains.registry.person_rows import RELATIONS as RELATIONS
from citybase.domains.registry.person_rows import RESIDENCE_TYPES as RESIDENCE_TYPES
from citybase.domains.registry.plates import LEVEL_NAMES as ADDRESS_LEVEL_NAMES
from citybase.domains.registry.plates import PlateSheet as PlateSheet
from citybase.domains.registry.plates import PublicAddress as PublicAddress
from citybase.domains.registry.plates import PublicChild as PublicChild
from citybase.domains.registry.plates import node_by_display_code as node_by_display_code
from citybase.domains.registry.plates import one_plate_svg as one_plate_svg
from citybase.domains.registry.plates import plate_sheet as plate_sheet
from citybase.domains.registry.plates import plate_url as plate_url
from citybase.domains.registry.plates import public_address as public_address
from citybase.domains.registry.plates import sheet_svg as plate_sheet_svg
from citybase.domains.registry.plates import single_plate as single_plate
from citybase.domains.registry.plates_pdf import sheet_pdf as plate_sheet_pdf
from citybase.domains.registry.population_stats import AGE_BANDS as AGE_BANDS
from citybase.domains.registry.population_stats import PopulationStats as PopulationStats

__all__ = [
    "ADDRESS_LEVEL_NAMES",
    "AGE_BANDS",
    "RELATIONS",
    "RESIDENCE_TYPES",
    "GrantService",
    "HouseService",
    "HouseholdService",
    "NewBuildingApplier",
    "OrgService",
    "PeopleService",
    "PlateSheet",
    "PopulationStats",
    "PublicAddress",
    "PublicChild",
    "apply_house_update",
    "node_by_display_code",
    "one_plate_svg",
    "plate_sheet",
    "plate_sheet_pdf",
    "plate_sheet_svg",
    "plate_url",
    "public_address",
    "single_plate",
]
